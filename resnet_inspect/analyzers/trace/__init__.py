"""Any nn.Module traced on torch's meta device into the records every analyzer reads (torch is
imported here): recording.py (the dispatch and function modes), shape_forwards.py (the fast
path of the layer kinds), module_facts.py (each module's facts), meta_pass.py (one pass), and
torch_internals.py (every private name of torch this needs, each tested)."""

from resnet_inspect.analyzers.trace.meta_pass import meta_copy, trace_copy, trace_model
from resnet_inspect.analyzers.trace.module_facts import module_infos

__all__ = ["meta_copy", "module_infos", "trace_copy", "trace_model"]
