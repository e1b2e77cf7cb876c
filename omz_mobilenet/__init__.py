"""omz-mobilenet: MobileNet catalogue, OpenVINO conversion, verification, benchmarking and accuracy."""

__version__ = "0.1.0"
