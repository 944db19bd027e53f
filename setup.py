"""The one part of the build that pyproject.toml cannot declare stably: the streamed passes'
heaviest loops in C (``eventstudy/core/stream/_loops.c``; :mod:`eventstudy.core.stream.kernel`).
The extension is optional: where no C compiler is, the build leaves it out and the numpy steps
run instead, with the same numbers. It is compiled without fused multiply-adds
(``-ffp-contract=off``) and without assuming floating-point traps (``-fno-trapping-math``: a loop
may pick one of two values without a branch; no value changes), so that every operation rounds
as numpy's does."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "eventstudy.core.stream._loops",
            ["eventstudy/core/stream/_loops.c"],
            optional=True,
            extra_compile_args=["-O3", "-ffp-contract=off", "-fno-trapping-math"],
        )
    ]
)
