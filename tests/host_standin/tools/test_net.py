"""The host's test entry point, as PySlowFast's tools/test_net.py: the multi-view test of
slowfast.engine; its meters import the AVA evaluation helper."""

import slowfast.utils.ava_eval_helper  # noqa: F401  (as PySlowFast's meters do)
from slowfast import engine


def test(cfg):
    meter = engine.test(cfg)
    print(f"tested {len(meter.video_labels)} videos: top-1 {meter.top1():.2f}%")
    return meter
