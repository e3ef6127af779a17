"""ONNX export of CRIS into a `cris-bundle/1` folder (see models/BUNDLE.md and README.md here)."""
