"""The default pipeline at three weights of its global term, for ``bench_object_sizes.py``.

``global_weight`` trades small anomalies (the development scenes) against large and
faint objects; ``bench_default_sensitivity.py`` measures the first side at these
weights, and this module lets the object-size benchmark measure the second::

    python benchmarks/bench_object_sizes.py --detectors rx \\
        --detector-module benchmarks/_global_weights.py:GLOBAL_WEIGHTS \\
        --candidate global-weight-0.4 global-weight-0.8 global-weight-1.2 \\
        --sizes 64 144 256 400 --jobs 2 --out benchmarks/results/object_sizes_global_weight.md
"""

from functools import partial

from skhsi.pipeline import make_attribute_filter_pipeline

#: label -> factory of the default pipeline with that ``global_weight`` (0.8 is the default)
GLOBAL_WEIGHTS = {f"global-weight-{w}": partial(make_attribute_filter_pipeline, global_weight=w)
                  for w in (0.4, 0.8, 1.2)}
