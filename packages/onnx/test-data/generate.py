"""Writes the reader test data with ONNX's own Python serializer (an oracle independent of @mha/onnx).

Run: /usr/bin/python3 packages/onnx/test-data/generate.py   (needs Debian's python3-onnx)
Each tensor is written twice: values in raw_data (raw.pb) and in the typed fields (fields.pb).
The values are listed in read.test.ts as well.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))

FLOATS = [1.5, -2.25, 0.0, 65504.0, 6.103515625e-05, 5.960464477539063e-08, float("inf"), float("-inf")]
TENSORS = {
    "float32": (np.array(FLOATS, dtype=np.float32).reshape(2, 4), TensorProto.FLOAT),
    "float16": (np.array(FLOATS, dtype=np.float16).reshape(2, 4), TensorProto.FLOAT16),
    "float64": (np.array([0.1, -1e300, 3.0], dtype=np.float64), TensorProto.DOUBLE),
    "bool": (np.array([[True, False, True], [False, False, True]]), TensorProto.BOOL),
    "int64": (np.array([7, -3, 2**40, -(2**40)], dtype=np.int64).reshape(1, 4), TensorProto.INT64),
    "scalar": (np.array(2.5, dtype=np.float32), TensorProto.FLOAT),
}


def write(name, proto):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(proto.SerializeToString())


for key, (array, dtype) in TENSORS.items():
    raw = numpy_helper.from_array(array, name=f"{key}_raw")
    write(f"{key}.raw.pb", raw)
    # make_tensor stores float16 values as their bit patterns in int32_data, bool as 0/1 there.
    fields = helper.make_tensor(f"{key}_fields", dtype, array.shape, array.flatten().tolist(), raw=False)
    write(f"{key}.fields.pb", fields)

node = helper.make_node(
    "Attention",
    ["Q", "K", "V", "", "", ""],
    ["Y", "", "", "qk"],
    name="attention",
    is_causal=1,
    scale=0.125,
    q_num_heads=3,
    kv_num_heads=3,
    qk_matmul_output_mode=3,
    note="text",
    perm=[0, 2, 1, 3],
)
f32 = lambda n, dims: helper.make_tensor_value_info(n, TensorProto.FLOAT, dims)
graph = helper.make_graph(
    [node],
    "attention_graph",
    [f32("Q", ["batch", 4, 24]), f32("K", ["batch", 6, 24]), f32("V", ["batch", 6, 24])],
    [f32("Y", ["batch", 4, 24]), f32("qk", None)],
    initializer=[numpy_helper.from_array(np.arange(6, dtype=np.int64).reshape(2, 3), name="unused_init")],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)], producer_name="generate.py")
model.ir_version = 11
model.metadata_props.add(key="purpose", value="reader test")
write("attention_node.onnx", model)
print("wrote", len(TENSORS) * 2 + 1, "files to", HERE)
