"""Batching for `md.vmap`: running a function written for one example on a batch of them.

Inside `md.vmap(f)`, `f` receives `BatchedTensor`s: each wraps a *physical* value (a Tensor,
or for nested vmaps another BatchedTensor) whose leading axis is the batch, and shows `f`
the *logical* shape of one example. An op called on a BatchedTensor runs its op's batching
rule (`Op.batch`, helpers in `minidiff.batching.rules`), which calls the op once on the
physical values; an op without a rule runs once per example (`BatchingFallbackWarning`).

The graph is recorded on the physical values, so gradients need nothing special: the
examples of a batch never mix, and a transform inside `vmap` (`md.vmap(md.grad(f))`)
differentiates the physical computation with a seed for every example at once.

- `minidiff.batching.tensor`: the BatchedTensor and the stack of active vmap levels;
- `minidiff.batching.apply`: how an op call on BatchedTensors runs (rule or loop);
- `minidiff.batching.rules`: the rules op families declare (`elementwise`, `axis`, ...);
- `minidiff.batching.vmap`: the public `md.vmap`.
"""
