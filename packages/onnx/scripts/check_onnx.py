"""Runs ONNX's official checker with full shape inference on the models listed in a manifest.

Usage: python3 check_onnx.py <manifest.json>   (written by check-onnx.mjs)

For every model: onnx.checker.check_model(model, full_check=True), then strict shape inference,
then a comparison of each graph output's inferred shape with the one the manifest expects
(symbolic names included). Models whose opset is newer than the installed onnx are reported as
not checkable here. Exit status 1 if any model fails.
"""
import json
import os
import sys

import onnx
from onnx import defs, shape_inference


def dims_of(value_info):
    shape = value_info.type.tensor_type.shape
    return [d.dim_param if d.dim_param else (d.dim_value if d.HasField("dim_value") else None) for d in shape.dim]


def check(entry, base):
    path = os.path.join(base, entry["file"])
    model = onnx.load(path)
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if opset > defs.onnx_opset_version():
        return "newer", f"opset {opset} > onnx {onnx.__version__}'s {defs.onnx_opset_version()}"
    onnx.checker.check_model(model, full_check=True)
    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    got = {o.name: dims_of(o) for o in inferred.graph.output}
    for name, want in entry["outputs"].items():
        if got.get(name) != want:
            raise AssertionError(f"output {name}: inferred {got.get(name)}, expected {want}")
    return "ok", f"opset {opset}, {len(model.graph.node)} nodes, " + ", ".join(f"{n} {got[n]}" for n in entry["outputs"])


def main():
    manifest_path = sys.argv[1]
    with open(manifest_path) as f:
        entries = json.load(f)
    base = os.path.dirname(manifest_path)
    print(f"onnx {onnx.__version__} (checker up to opset {defs.onnx_opset_version()})")
    failed = 0
    newer = 0
    for entry in entries:
        try:
            status, detail = check(entry, base)
        except Exception as e:  # report every model, then fail at the end
            status, detail = "FAIL", f"{type(e).__name__}: {e}"
        failed += status == "FAIL"
        newer += status == "newer"
        print(f"{status:5} {entry['file']}: {detail}")
    checked = len(entries) - newer
    print(f"{checked - failed}/{checked} checked models pass (full_check=True, strict shape inference)")
    if newer:
        print(f"{newer} models use an opset newer than this onnx (the attention-op flavour is opset 23);"
              " they are validated by running them in onnxruntime (@mha/backend-onnxruntime tests)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
