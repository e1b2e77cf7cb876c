"""LoadGen's two sides: the query sample library (real images preprocessed into memory, loaded and
unloaded as LoadGen asks) and the system under test (an OpenVINO AsyncInferQueue whose callbacks tell
LoadGen each sample is done).

In accuracy mode the response is the sample's top-1 class as one int32, chosen by `classify` (the
caller's rule: accuracy's own ranking, so LoadGen's answers score exactly as `accuracy` does); in
performance mode the response carries no data.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import numpy as np

from omz_mobilenet.catalogue import Geometry, ModelEntry

Classify = Callable[[np.ndarray], int]


class SampleLibrary:
    """The QSL: image files by index; `load` decodes through the model's geometry into NCHW tensors."""

    def __init__(self, files: list[Path], entry: Optional[ModelEntry], size: int, dtype: Any) -> None:
        self.files, self.entry, self.size, self.dtype = files, entry, size, dtype
        self.tensors: dict[int, np.ndarray] = {}
        self.loads = 0  # samples decoded over the run (LoadGen may load a set more than once)

    def _decode(self, index: int) -> np.ndarray:
        from omz_mobilenet.inputs.images import apply_geometry, decode_bgr, ir_input, load_for_model

        path = self.files[index]
        if self.entry is not None and self.entry.resolution == self.size:
            image = load_for_model(path, self.entry)
        else:  # an IR without a catalogue entry: the catalogue's usual central crop
            image = apply_geometry(decode_bgr(path), Geometry(kind="central_crop"), self.size)
        return np.ascontiguousarray(ir_input([image]).astype(self.dtype))

    def load(self, indices: list[int]) -> None:
        for index in indices:
            if index not in self.tensors:
                self.tensors[index] = self._decode(index)
                self.loads += 1

    def unload(self, indices: list[int]) -> None:
        for index in indices:
            self.tensors.pop(index, None)


class SystemUnderTest:
    """Issues every sample of a query to the AsyncInferQueue; the completion callback (an OpenVINO
    thread) reports it to LoadGen with QuerySamplesComplete.

    `synchronous` (SingleStream: one sample in flight at a time) runs the sample on one infer request in
    LoadGen's issuing thread instead: the hand-off to OpenVINO's callback thread and back cost 0.4-0.8 ms
    per query here, as much as a small MobileNet's inference, and SingleStream's p90 would time Python."""

    def __init__(
        self, compiled: Any, library: SampleLibrary, jobs: int, classify: Optional[Classify], synchronous: bool = False
    ) -> None:
        import openvino as ov

        self.lg = _lg()
        self.library, self.classify = library, classify
        self.queue = ov.AsyncInferQueue(compiled, jobs)
        self.queue.set_callback(self._done)
        self.request = compiled.create_infer_request() if synchronous else None
        self.completed = 0
        self.stopping = False  # set on Ctrl-C (run.py): the results are thrown away
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def _done(self, request: Any, sample_id: int) -> None:
        try:
            if self.classify is None:
                response = self.lg.QuerySampleResponse(sample_id, 0, 0)
                self.lg.QuerySamplesComplete([response])
            else:
                top1 = np.array([self.classify(request.get_output_tensor(0).data[0])], dtype=np.int32)
                response = self.lg.QuerySampleResponse(sample_id, top1.ctypes.data, top1.nbytes)
                self.lg.QuerySamplesComplete([response])  # LoadGen copies the bytes before returning
        except Exception as exc:  # an exception must not escape into OpenVINO's thread
            with self._lock:
                self.errors.append(str(exc))
        with self._lock:
            self.completed += 1

    def issue(self, samples: list) -> None:
        """LoadGen's issue_queries: one start_async per sample (it waits for a free request). After Ctrl-C
        every sample is answered at once, empty, so LoadGen runs out of work and returns soon."""
        tensors = self.library.tensors
        for sample in samples:
            if self.stopping:
                self.lg.QuerySamplesComplete([self.lg.QuerySampleResponse(sample.id, 0, 0)])
            elif self.request is not None:
                self.request.infer({0: tensors[sample.index]})
                self._done(self.request, sample.id)
            else:
                self.queue.start_async({0: tensors[sample.index]}, sample.id)

    def flush(self) -> None:
        """LoadGen's flush_queries: nothing is held back, every sample was issued at once."""

    def wait(self) -> None:
        self.queue.wait_all()


def _lg() -> Any:
    from omz_mobilenet.bench.loadgen.options import loadgen

    return loadgen()
