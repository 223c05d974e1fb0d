"""rgbpose-plugin: RGBPoseConv3D for PyTorchVideo."""
