"""distmatch.studies: one module per experiment (config -> units -> one long table + figures in results/<study>/).

Every study module defines ``STUDY``, an instance of a :class:`studies.engine.Study` subclass that declares its
config (a frozen dataclass that is also its command line), its variants and seeds, how one unit of work runs and
which figures it draws from the saved table, and ``main(argv=None)``, which hands the rest to
:func:`studies.engine.run_study` (store, executors, table, run.json). ``python -m studies`` lists them;
``python -m studies.<name> --help`` shows a study's options and presets.
"""
