import torch.nn as nn

_LOSSES = {"cross_entropy": nn.CrossEntropyLoss}


def get_loss_func(loss_name):
    if loss_name not in _LOSSES:
        raise NotImplementedError(f"Loss {loss_name} is not supported")
    return _LOSSES[loss_name]
