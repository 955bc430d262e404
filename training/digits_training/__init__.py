"""Training pipeline for the Digits MNIST model.

Modules:
- ``idx``: reads the MNIST IDX files (gzip or plain) into numpy arrays.
- ``preprocess``: the reference MNIST-form normalisation (crop, fit 20x20, centre of mass).
- ``augment``: batched augmentation that imitates digits drawn in a browser.
- ``models``: the candidate CNNs and a multiply-add counter.
- ``export``: ONNX export, the model card and the golden fixture for the Rust side.
- ``canvas``: renders MNIST digits the way a browser canvas would, for robustness tests.
"""
