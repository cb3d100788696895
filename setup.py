"""The compiled fast path of the EDIFACT lexer (everything else is in pyproject.toml).

``optional=True``: on a machine without a C compiler (or without the Python headers) the
build of the extension fails with a warning and the project installs without it; the
pure-Python lexer then does the same work (adapters/edifact/syntax.py decides which is used).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "adapters.edifact._fastlex",
            ["adapters/edifact/_fastlex.c"],
            optional=True,
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
        )
    ]
)
