"""A Python client of Pedigree, the provenance registry for language-model training data.

Standard library only. Start with :class:`Client`::

    import pedigree

    reg = pedigree.Client("http://127.0.0.1:8080", key)
    results = reg.ingest(samples, progress=True)

Samples name their prompt and parents with :func:`ref` (an id), :func:`ext` (the pipeline's own
``external_id``) or :func:`item` (an earlier item of the same ingest).
"""

from .client import (
    DEFAULT_MAX_BATCH_BYTES,
    LINE_FORMATS,
    MAX_BATCH_SAMPLES,
    MAX_LOOKUP_KEYS,
    Client,
    ExportLines,
    best_of_k,
    random_strategy,
)
from .errors import ExportError, PedigreeError, PolicyDeniedError, ProblemError, TransportError
from .progress import Progress, TextProgress
from .refs import SampleRef, ext, item, ref
from .records import (
    APIKey,
    BestOfK,
    Candidate,
    Candidates,
    Checkpoint,
    Decision,
    DryRun,
    IngestedSample,
    Lineage,
    Metrics,
    Mix,
    MixStats,
    Model,
    Page,
    Policy,
    PolicyRef,
    PolicyVersion,
    Sample,
)

__version__ = "0.1.0"

__all__ = [
    "APIKey",
    "BestOfK",
    "Candidate",
    "Candidates",
    "Checkpoint",
    "Client",
    "DEFAULT_MAX_BATCH_BYTES",
    "Decision",
    "DryRun",
    "ExportError",
    "ExportLines",
    "IngestedSample",
    "LINE_FORMATS",
    "Lineage",
    "MAX_BATCH_SAMPLES",
    "MAX_LOOKUP_KEYS",
    "Metrics",
    "Mix",
    "MixStats",
    "Model",
    "Page",
    "PedigreeError",
    "Policy",
    "PolicyDeniedError",
    "PolicyRef",
    "PolicyVersion",
    "ProblemError",
    "Progress",
    "Sample",
    "SampleRef",
    "TextProgress",
    "TransportError",
    "__version__",
    "best_of_k",
    "ext",
    "item",
    "random_strategy",
    "ref",
]
