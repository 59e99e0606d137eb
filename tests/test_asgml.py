"ASGML's invariants: decoupled probes, true skips, exact staleness, the adaptive threshold, every mode trains."
import copy
import pytest, torch
import asgml.train as T
from asgml.core import get_dataset, load_config, seed_everything
from asgml.staleness import ASGMLAdaptive, StalenessBuffer, swap_in_stale

TINY = ["data.n_train=256", "data.n_val=100", "data.n_test=100", "train.epochs=1", "log.wandb=false", "log.progress=false",
        "probe.eval_freq=2", "probe.probe_train_steps=5"]

def trainer(method: str, over: list[str] = ()) -> T.Trainer:
    cfg = load_config("synthetic", TINY + list(over), method=method)
    seed_everything(0)
    data = get_dataset("synthetic").build(cfg.data, 0)
    return T.Trainer(cfg, data, T.build_method(method))

def encoder_grads(tr: T.Trainer) -> list[torch.Tensor]:
    return [p.grad.clone() for e in tr.model.encoders.values() for p in e.parameters() if p.grad is not None]

def test_probes_do_not_touch_encoder_gradients():
    on, off = trainer("baseline", ["probe.enabled=true"]), trainer("baseline", ["probe.enabled=false"])
    assert on.probes is not None and off.probes is None
    batches = [on.data.train[torch.arange(i, i + 32)] for i in range(0, 192, 32)]
    for b in batches:                      # six steps: probes measure three times (eval_freq 2)
        on.train_step(b); off.train_step(b)
        assert all(torch.equal(a, c) for a, c in zip(encoder_grads(on), encoder_grads(off)))
    assert len(on.probes.history) == 3
    assert all(torch.equal(a, c) for a, c in zip(on.model.state_dict().values(), off.model.state_dict().values()))
    probe_ids = {id(p) for probe, _ in on.probes.probes.values() for p in probe.parameters()}
    opt_ids = {id(p) for o in on.optimizers for g in o.param_groups for p in g["params"]}
    assert not probe_ids & opt_ids

def test_frequency_skip_is_a_true_skip():
    tr = trainer("asgml_frequency", ["asgml.k_ratio=2", "train.optimizer=sgd", "train.momentum=0.9", "train.weight_decay=0.01"])
    tr.probe_acc = {"easy": 0.9, "weak": 0.4}; tr.method.on_eval(0)       # measured: easy dominates
    assert tr.method.ratio == {"easy": 0.5, "weak": 1.0}
    b = tr.data.train[torch.arange(32)]
    tr.train_step(b); tr.train_step(b)                                     # one off and one on step for easy
    snap = lambda: (copy.deepcopy(tr.model.encoders["easy"].state_dict()), copy.deepcopy(tr.encoder_opts["easy"].state_dict()))
    for _ in range(3):
        enc, opt = snap(); head = tr.model.fusion.fc.weight.clone()
        mask = {m for m in tr.model.modalities if tr.method.credit[m] + tr.method.ratio[m] >= 1 - 1e-9}
        tr.train_step(b)
        if "easy" not in mask:
            assert all(torch.equal(enc[k], v) for k, v in tr.model.encoders["easy"].state_dict().items() if "running" not in k and "num_batches" not in k)
            assert str(opt) == str(tr.encoder_opts["easy"].state_dict())
        assert not torch.equal(head, tr.model.fusion.fc.weight)             # the head steps every step
    assert tr.updates["easy"] == 2 and tr.updates["weak"] == 5

@pytest.mark.parametrize("tau", [1, 2, 4])
def test_staleness_applies_gradient_from_t_minus_tau(tau):
    buf, applied = StalenessBuffer(), []
    for t in range(12): applied.append(buf.exchange("a", t, [torch.tensor(float(t))], tau)[0])
    assert applied == [max(t - tau, 0) for t in range(12)]
    assert buf.n_snapshots("a") == tau

def test_staleness_tau_change_and_resume():
    buf, out = StalenessBuffer(), []
    taus = [2] * 5 + [1] * 3 + [3] * 6
    for t, tau in enumerate(taus[:8]): out.append(buf.exchange("a", t, [torch.tensor(float(t))], tau)[0])
    resumed = StalenessBuffer(); resumed.load_state_dict(copy.deepcopy(buf.state_dict()))
    for t, tau in enumerate(taus[8:], start=8): out.append(resumed.exchange("a", t, [torch.tensor(float(t))], tau)[0])
    assert out == [0, 0, 0, 1, 2, 4, 5, 6, 7, 7, 7, 8, 9, 10]  # tau 2 -> 1 drops g3; 1 -> 3 re-applies g7 until g_{t-3} exists

def test_toy_sequence_of_methods_md():
    x = torch.nn.Linear(1, 1, bias=False); x.weight.data.fill_(1.0)
    opt, buf, xs = torch.optim.SGD(x.parameters(), lr=0.5), StalenessBuffer(), [1.0]
    for t in range(8):
        opt.zero_grad(); (x.weight ** 2 / 2).sum().backward()
        swap_in_stale(x, buf, "x", t, tau=1); opt.step(); xs.append(x.weight.item())
    assert xs == pytest.approx([1, 0.5, 0, -0.25, -0.25, -0.125, 0, 0.0625, 0.0625])

def test_adaptive_threshold_and_only_dominant_slows():
    tr = trainer("asgml_adaptive", ["asgml.threshold_delta=0.1", "asgml.update_ratio_min=0.25"])
    m = tr.method
    m.schedule({"easy": 0.58, "weak": 0.5}); assert m.ratio == {"easy": 1.0, "weak": 1.0}
    m.schedule({"weak": 0.85, "easy": 0.5}); assert m.ratio["easy"] == 1.0 and 0.25 <= m.ratio["weak"] < 1.0
    m.schedule({"weak": 0.55, "easy": 0.5}); assert m.ratio == {"easy": 1.0, "weak": 1.0}     # relaxes as the gap closes

@pytest.mark.parametrize("method", ["asgml_frequency", "asgml_staleness", "asgml_adaptive", "asgml_boost", "modality_lr",
                                    "grad_half+asgml_adaptive"])
@pytest.mark.parametrize("extra", [[], ["asgml.adapt=staleness", "asgml.probe_signal=random", "asgml.delay_compensation=0.04"]])
def test_every_mode_trains_an_epoch(tmp_path, method, extra):
    @T.register_method("grad_half")
    class GradHalf(T.Method):                      # a trivial synchronous method to compose with
        def after_backward(self, step):
            for e in self.trainer.model.encoders.values():
                for p in e.parameters():
                    if p.grad is not None: p.grad.mul_(0.5)
    m = T.run(load_config("synthetic", TINY + extra, method=method), tmp_path)
    assert m["epochs"] == 1 and set(m["probe_acc"]) == {"easy", "weak"} and 0 < min(m["update_ratio"].values()) <= 1
    assert (tmp_path / "probes.csv").exists()

def test_composition_order_puts_staleness_last():
    comp = T.build_method("asgml_staleness+baseline")
    assert [type(p).__name__ for p in comp.parts] == ["Method", "ASGMLStaleness"] and comp.needs_probes

def test_adaptive_with_three_modalities_slows_only_the_leader(tmp_path):
    over = ["data.modalities=[a,b,c]", "data.signal=[5,3,2]", "data.difficulty=[0.1,0.2,0.2]", "data.dims=[8,8,8]", "data.sign_flip=[false,false,true]"]
    tr = trainer("asgml_adaptive", over)
    tr.method.schedule({"a": 0.9, "b": 0.6, "c": 0.5})
    assert tr.method.ratio["a"] < 1.0 and tr.method.ratio["b"] == tr.method.ratio["c"] == 1.0
    m = T.run(load_config("synthetic", TINY + over, method="asgml_adaptive"), tmp_path)
    assert set(m["update_ratio"]) == {"a", "b", "c"}
