"""Reference runtimes that `omz-mobilenet verify` compares OpenVINO results against."""
