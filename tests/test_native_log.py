"""The filter that keeps native libraries' info/warning lines (mediapipe, TFLite) out of
stderr while errors and everything else pass."""

import os

from rgbpose_dataprep.pose.native_log import NativeLogFilter


def test_noise_is_dropped_and_the_rest_passes(capfd, monkeypatch):
    monkeypatch.delenv("RGBPOSE_NATIVE_LOGS", raising=False)
    log = NativeLogFilter()
    log.start()
    log.start()  # nested: still one filter
    os.write(2, b"I0000 00:00:1.0 1 gl_context.cc:369] GL version: 3.2\nkept line\n")
    os.write(2, b"W0000 00:00:1.0 2 inference_feedback_manager.cc:114] Feedback manager\n")
    os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    os.write(2, b"E0000 00:00:1.0 3 calculator_graph.cc:1] a real error\n")
    log.stop()
    os.write(2, b"I0000 inside the nested start: dropped\nno newline at the end")
    log.stop()
    os.write(2, b"I0000 after the last stop: shown\n")
    err = capfd.readouterr().err
    assert err == ("kept line\nE0000 00:00:1.0 3 calculator_graph.cc:1] a real error\n"
                   "no newline at the endI0000 after the last stop: shown\n"), err


def test_switched_off_by_the_environment(capfd, monkeypatch):
    monkeypatch.setenv("RGBPOSE_NATIVE_LOGS", "1")
    log = NativeLogFilter()
    log.start()
    os.write(2, b"I0000 shown when asked for\n")
    log.stop()
    assert capfd.readouterr().err == "I0000 shown when asked for\n"
