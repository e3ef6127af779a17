"""PyTorch side of the project: the CRIS model (`models.cris`), its ONNX export, training and tools."""
