"""PyTorch's DistributedDataParallel (gloo, loopback) on the models of examples/ddp_train.cpp, the
anchor of docs/distributed.md's figures. Same models, per-rank batch, optimizer (Adam), data shapes.

    /usr/bin/python3 bench/ddp_torch_anchor.py [--world 2] [--steps 50] [--mlp] [--hidden 128]
        [--batch 32] [--seq 50]

Prints ms/step (after 5 warm-up steps) and samples/s per rank; one intra-op thread per rank.
"""
import argparse
import os
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


class Adding(torch.nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.lstm = torch.nn.LSTM(2, hidden)
        self.head = torch.nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[-1])


def mlp(hidden):
    return torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                               torch.nn.ReLU(), torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
                               torch.nn.Linear(hidden, 1))


def run(rank, a):
    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = "29517"
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    dist.init_process_group("gloo", rank=rank, world_size=a.world)
    torch.manual_seed(0)
    model = mlp(a.hidden) if a.mlp else Adding(a.hidden)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.Adam(ddp.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(rank)
    if a.mlp:
        xs = torch.rand(a.batch, 64, generator=g) * 2 - 1
        ys = torch.sin(xs[:, :8].sum(1, keepdim=True))
    else:
        xs = torch.rand(a.seq, a.batch, 2, generator=g)
        ys = torch.rand(a.batch, 1, generator=g)
    for step in range(a.steps + 5):
        if step == 5:
            dist.barrier()
            t0 = time.perf_counter()
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(ddp(xs), ys)
        loss.backward()
        opt.step()
    dist.barrier()
    secs = time.perf_counter() - t0
    print(f"rank {rank}: {1000 * secs / a.steps:.2f} ms/step, {a.steps * a.batch / secs:.1f} samples/s", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--world", type=int, default=2)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--mlp", action="store_true")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=50)
    a = p.parse_args()
    print(f"torch {torch.__version__} DDP gloo, world {a.world}, {'MLP 64-%dx3' % a.hidden if a.mlp else 'LSTM 2-%d T%d' % (a.hidden, a.seq)}, per-rank batch {a.batch}")
    mp.spawn(run, args=(a,), nprocs=a.world)
