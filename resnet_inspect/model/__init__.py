"""Plan tree -> torch.nn.Module (torch is imported here): the builder, a walker over the plan
tree that makes each Layer's module from its layer kind and each container's from its recipe.
"""

from resnet_inspect.model.builder import build_model, build_module, init_weights, param_count

__all__ = ["build_model", "build_module", "init_weights", "param_count"]
