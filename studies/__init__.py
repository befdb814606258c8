"""distmatch.studies: one module per experiment (config -> runs -> tables + figures in results/<study>/).

Every study module defines ``DESCRIPTION`` (one line), a frozen ``*Config`` dataclass that is also
its command line (see :func:`studies.common.parse_config`) and ``main(argv=None)``.
``python -m studies`` lists them; ``python -m studies.<name> --help`` shows a study's options.
"""
