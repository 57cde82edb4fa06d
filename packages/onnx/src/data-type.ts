// Kept apart from proto.ts so the public declarations never import onnx-proto (its .d.ts needs protobufjs's
// `Long`, an error under `skipLibCheck: false`).

/** ONNX `TensorProto.DataType` codes used by this package. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;
