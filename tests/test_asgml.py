"ASGML's invariants: decoupled probes, true skips, exact staleness, the N-modality rule, probes off the global RNG, every mode trains."
import copy, io
from collections import Counter
import pytest, torch, torch.nn as nn
import asgml.models as M
import asgml.record as R
import asgml.train as T
from asgml.core import load_config, seed_everything
from asgml.registry import get_dataset, register_method
from asgml.hooks import Method, build_method, scale_grads
from asgml.probes import ProbeMonitor
from asgml.staleness import StalenessBuffer, adaptive_ratios, swap_in_stale, throttled

TINY = ["data.n_train=256", "data.n_val=100", "data.n_test=100", "train.epochs=1", "log.wandb=false", "log.progress=false",
        "probe.eval_freq=2", "probe.probe_train_steps=5"]
NO_EVAL = ["probe.eval_freq=100000"]      # the test sets the schedule itself; no probe measurement overrides it
THREE = ["data.modalities=[a,b,c]", "data.signal=[5,3,2]", "data.difficulty=[0.1,0.2,0.2]", "data.dims=[8,8,8]",
         "data.sign_flip=[false,false,true]"]

def trainer(method: str, over: list[str] = ()) -> T.Trainer:
    cfg = load_config("synthetic", TINY + list(over), method=method)
    seed_everything(0)
    data = get_dataset("synthetic").build(cfg.data, 0)
    return T.Trainer(cfg, data, build_method(method))

def encoder_grads(tr: T.Trainer) -> list[torch.Tensor]:
    return [p.grad.clone() for e in tr.model.encoders.values() for p in e.parameters() if p.grad is not None]

def same(a, b) -> bool:
    "Bit-identical nested state (dicts, lists, tensors, numbers)."
    if isinstance(a, torch.Tensor): return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict): return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)): return isinstance(b, (list, tuple)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b

def next_mask(tr: T.Trainer) -> set[str]:
    "The modalities `update_mask` will pick at the next step (the credit counter, read without advancing it)."
    return {m for m in tr.model.modalities if tr.method.credit[m] + tr.method.ratio[m] >= 1 - 1e-9}

# --- probes ---------------------------------------------------------------------------------------------------------

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

SEEDING = [(torch, "manual_seed"), (torch, "seed"), (torch.random, "manual_seed"), (torch.random, "seed"), (torch.random, "fork_rng"),
           (torch.cuda, "manual_seed"), (torch.cuda, "manual_seed_all"), (torch.cuda, "seed"), (torch.cuda, "seed_all")]

@pytest.mark.parametrize("kind,warm", [("linear", True), ("mlp_1layer", False)])
def test_probes_use_their_own_generator(monkeypatch, kind, warm):
    cfg = load_config("synthetic", TINY + [f"probe.probe_type={kind}", f"probe.warm_start={str(warm).lower()}"])
    data = get_dataset("synthetic").build(cfg.data, 0)
    model = M.build_model(cfg.model, data.input_shapes, data.n_classes).eval()
    batches = [data.train[torch.arange(i, i + 32)] for i in (0, 32)]
    with torch.no_grad(): feats = [(model.encode(b), b["label"]) for b in batches]
    calls = []
    def refuse(name):
        def f(*a, **k): calls.append(name); raise AssertionError(f"{name} called by the probes")
        return f
    for mod, name in SEEDING: monkeypatch.setattr(mod, name, refuse(f"{mod.__name__}.{name}"))
    cpu = torch.get_rng_state(); cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    runs = []
    for _ in range(2):
        mon = ProbeMonitor({m: model.encoders[m].out_dim for m in data.modalities}, data.n_classes, cfg.probe, data.val, 3, torch.device("cpu"))
        lins = [l for probe, _ in mon.probes.values() for l in probe.modules() if isinstance(l, nn.Linear)]
        assert all(0 < l.weight.abs().max() <= l.in_features ** -0.5 for l in lins)   # nn.Linear's default range, drawn fresh
        for f, y in feats: mon.observe(f, y)
        runs.append([mon.measure(model, 2)["acc"], mon.measure(model, 4)["acc"]])
    assert not calls and torch.equal(torch.get_rng_state(), cpu)
    assert all(torch.equal(a, b) for a, b in zip(cuda, torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []))
    assert runs[0] == runs[1]                                              # the monitor's own seed decides everything
    resumed = ProbeMonitor({m: model.encoders[m].out_dim for m in data.modalities}, data.n_classes, cfg.probe, data.val, 99, torch.device("cpu"))
    resumed.load_state_dict(copy.deepcopy(mon.state_dict()))
    assert resumed.measure(model, 6)["acc"] == mon.measure(model, 6)["acc"]

# --- off steps ------------------------------------------------------------------------------------------------------

def test_frequency_skip_is_a_true_skip():
    tr = trainer("asgml_frequency", NO_EVAL + ["asgml.k_ratio=2", "train.optimizer=sgd", "train.momentum=0.9", "train.weight_decay=0.01"])
    tr.method.on_eval(0, {"easy": 0.9, "weak": 0.4})       # measured: easy is fast
    assert tr.method.ratio == {"easy": 0.5, "weak": 1.0}
    b = tr.data.train[torch.arange(32)]
    tr.train_step(b); tr.train_step(b)                                     # one off and one on step for easy
    snap = lambda: (copy.deepcopy(tr.model.encoders["easy"].state_dict()), copy.deepcopy(tr.encoder_opts["easy"].state_dict()))
    for _ in range(3):
        enc, opt = snap(); head = tr.model.fusion.fc.weight.clone()
        mask = next_mask(tr)
        tr.train_step(b)
        if "easy" not in mask: assert same(enc, tr.model.encoders["easy"].state_dict()) and same(opt, tr.encoder_opts["easy"].state_dict())
        assert not torch.equal(head, tr.model.fusion.fc.weight)             # the head steps every step
    assert tr.updates["easy"] == 2 and tr.updates["weak"] == 5

class BNEncoder(nn.Module):
    "A linear layer, BatchNorm and ReLU: an encoder with running statistics."
    def __init__(self, in_shape: tuple, out_dim: int):
        super().__init__()
        self.out_dim, self.net = out_dim, nn.Sequential(nn.Flatten(), nn.Linear(in_shape[0], out_dim), nn.BatchNorm1d(out_dim), nn.ReLU())
    def forward(self, x: torch.Tensor) -> torch.Tensor: return self.net(x)

@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_off_step_leaves_batchnorm_encoder_bit_identical(monkeypatch, optimizer):
    monkeypatch.setitem(M.ENCODERS, "bn", lambda s, c, m: BNEncoder(s, c.feature_dim))
    monkeypatch.setitem(M._RANKS, "bn", None)
    tr = trainer("asgml_frequency", NO_EVAL + ["asgml.k_ratio=2", "model.encoders={easy: bn, weak: bn}", f"train.optimizer={optimizer}",
                                               "train.momentum=0.9", "train.weight_decay=0.01"])
    tr.method.on_eval(0, {"easy": 0.9, "weak": 0.4})
    tr.model.train()
    enc, opt = tr.model.encoders["easy"], tr.encoder_opts["easy"]
    off = on = 0
    for i in range(6):
        b = tr.data.train[torch.arange(32 * i, 32 * i + 32)]
        before, opt_before = copy.deepcopy(enc.state_dict()), copy.deepcopy(opt.state_dict())
        stepping = "easy" in next_mask(tr)
        tr.train_step(b)
        after = enc.state_dict()
        if stepping:
            on += 1
            assert after["net.2.num_batches_tracked"] == before["net.2.num_batches_tracked"] + 1
            assert not torch.equal(after["net.2.running_mean"], before["net.2.running_mean"])
        else:
            off += 1
            assert same(before, after) and same(opt_before, opt.state_dict())     # parameters, running stats, counter, optimiser
    assert off == on == 3 and tr.updates == {"easy": 3, "weak": 6}

# --- staleness ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tau", [1, 2, 4])
def test_staleness_applies_gradient_from_t_minus_tau(tau):
    buf, applied = StalenessBuffer(), []
    for t in range(12): applied.append(None if (r := buf.exchange("a", t, [torch.tensor(float(t))], tau, "skip")) is None else r[0])
    assert applied == [None] * tau + list(range(12 - tau))                # held still until g_0 is tau steps old
    assert buf.n_snapshots("a") == tau

def test_staleness_tau_change_and_resume():
    buf, out = StalenessBuffer(), []
    taus = [2] * 5 + [1] * 3 + [3] * 6
    step = lambda b, t, tau: None if (r := b.exchange("a", t, [torch.tensor(float(t))], tau, "skip")) is None else r[0]
    for t, tau in enumerate(taus[:8]): out.append(step(buf, t, tau))
    resumed = StalenessBuffer(); resumed.load_state_dict(copy.deepcopy(buf.state_dict()))
    for t, tau in enumerate(taus[8:], start=8): out.append(step(resumed, t, tau))
    assert out == [None, None, 0, 1, 2, 4, 5, 6, None, None, 7, 8, 9, 10]   # tau 2 -> 1 drops g3; 1 -> 3 holds until g_{t-3} exists

TAUS = [0] * 3 + [2] * 4 + [4] * 6 + [1] * 4 + [3] * 6                    # 0 -> 2 -> 4 -> 1 -> 3
EXPECTED = [0, 1, 2, None, None, 3, 4, None, None, 5, 6, 7, 8, 12, 13, 14, 15, None, None, 16, 17, 18, 19]

def test_no_gradient_applied_twice_when_tau_changes():
    "swap_in_stale (its defaults) on a one-weight model whose gradient at step t is t + 1; a checkpoint round trip halfway."
    w = nn.Linear(1, 1, bias=False)
    buf, applied = StalenessBuffer(), []
    for t, tau in enumerate(TAUS):
        if t == 11:                                                        # resume from a checkpoint mid-run (tau = 4, buffer full)
            f = io.BytesIO(); torch.save(buf.state_dict(), f); f.seek(0)
            buf = StalenessBuffer(); buf.load_state_dict(torch.load(f, weights_only=False))
        w.weight.grad = torch.full_like(w.weight, t + 1.0)
        swap_in_stale(w, buf, "x", t, tau)                                 # the default warm-up: skip
        applied.append(None if w.weight.grad is None else int(w.weight.grad.item()) - 1)
    assert applied == EXPECTED
    counts = Counter(s for s in applied if s is not None)
    assert max(counts.values()) == 1                                       # each snapshot applied at most once
    assert all(s is None or s == t - tau for t, (s, tau) in enumerate(zip(applied, TAUS)))   # and exactly tau steps late

@pytest.mark.parametrize("warmup", [["asgml.staleness_warmup=skip"], []])      # explicit, and the config's default
def test_staleness_method_applies_each_gradient_once(warmup):
    "Through the trainer: ASGMLStaleness with tau set per step; the gradient in `.grad` is the very tensor of step t - tau."
    tr = trainer("asgml_staleness", NO_EVAL + warmup)
    enc, fresh, applied = tr.model.encoders["easy"], {}, []
    hook = tr.method.after_backward
    def spy(s) -> dict:
        fresh[s.index] = [p.grad for p in enc.parameters()]
        logged = hook(s)
        got = [p.grad for p in enc.parameters()]
        applied.append(None if got[0] is None else next(t for t, f in fresh.items() if all(a is b for a, b in zip(got, f))))
        return logged
    tr.method.after_backward = spy
    for t, tau in enumerate(TAUS):
        tr.method.tau = {"easy": tau, "weak": 0}
        before = [p.detach().clone() for p in enc.parameters()]
        tr.train_step(tr.data.train[torch.arange(32 * (t % 8), 32 * (t % 8) + 32)])
        if applied[-1] is None: assert all(torch.equal(a, p) for a, p in zip(before, enc.parameters()))   # held still
    assert applied == EXPECTED
    assert tr.updates == {"easy": sum(s is not None for s in EXPECTED), "weak": len(TAUS)}

def test_toy_sequence_of_methods_md():
    def toy(warmup: str) -> list[float]:
        x = torch.nn.Linear(1, 1, bias=False); x.weight.data.fill_(1.0)
        opt, buf, xs = torch.optim.SGD(x.parameters(), lr=0.5), StalenessBuffer(), [1.0]
        for t in range(8):
            opt.zero_grad(); (x.weight ** 2 / 2).sum().backward()
            swap_in_stale(x, buf, "x", t, tau=1, warmup=warmup); opt.step(); xs.append(x.weight.item())
        return xs
    assert toy("reuse") == pytest.approx([1, 0.5, 0, -0.25, -0.25, -0.125, 0, 0.0625, 0.0625])   # METHODS.md (x_{-1} = x_0)
    assert toy("skip") == pytest.approx([1, 1, 0.5, 0, -0.25, -0.25, -0.125, 0, 0.0625])         # the same, one step later

# --- which modalities are throttled ----------------------------------------------------------------------------------

def test_adaptive_threshold_and_relaxation():
    tr = trainer("asgml_adaptive", ["asgml.threshold_delta=0.1", "asgml.update_ratio_min=0.25"])
    m = tr.method
    m.schedule({"easy": 0.58, "weak": 0.5}); assert m.ratio == {"easy": 1.0, "weak": 1.0}
    m.schedule({"weak": 0.85, "easy": 0.5}); assert m.ratio["easy"] == 1.0 and 0.25 <= m.ratio["weak"] < 1.0
    m.schedule({"weak": 0.55, "easy": 0.5}); assert m.ratio == {"easy": 1.0, "weak": 1.0}     # relaxes as the gap closes

def test_adaptive_two_modality_worked_values():
    neutral = {"a": 1.0, "v": 1.0}
    r = adaptive_ratios({"a": 0.8, "v": 0.5}, neutral, neutral, delta=0.1, gain=2, r_min=0.25)
    assert r["a"] == pytest.approx(1 - 2 * 1.0 * (0.3 - 0.1)) and r["v"] == 1.0                  # 0.6
    r = adaptive_ratios({"a": 0.8, "v": 0.5}, {"a": 3.0, "v": 1 / 3}, {"a": 0.2, "v": 0.05}, 0.1, 2, 0.25)
    assert r["a"] == pytest.approx(1 - 2 * 1.5 * 0.2) and r["v"] == 1.0                          # rho and q confirm: c = 1.5
    r = adaptive_ratios({"a": 0.8, "v": 0.5}, {"a": 1 / 3, "v": 3.0}, {}, 0.1, 2, 0.25)
    assert r["a"] == pytest.approx(1 - 2 * (2 / 3) * 0.2)                                        # rho tempers: c = (1/3 + 1) / 2
    assert adaptive_ratios({"a": 0.99, "v": 0.1}, neutral, neutral, 0.1, 2, 0.25)["a"] == 0.25    # never below update_ratio_min
    r = adaptive_ratios({"a": 0.8, "v": 0.5}, {"a": 3.0, "v": 1 / 3}, {"a": 0.2, "v": 0.05}, 0.1, 2, 0.25, target="weakest")
    assert r["a"] == 1.0 and r["v"] == pytest.approx(1 - 2 * 1.5 * 0.2)                         # mirrored: 1/rho_v = 3, 1/q_v = 4

def test_adaptive_with_three_modalities_throttles_every_fast_one(tmp_path):
    tr = trainer("asgml_adaptive", THREE + ["asgml.threshold_delta=0.1", "asgml.adapt_gain=2", "asgml.update_ratio_min=0.25"])
    tr.method.schedule({"a": 0.9, "b": 0.85, "c": 0.3})                   # gaps 0.325, 0.25, -0.575
    assert tr.method.ratio == pytest.approx({"a": 1 - 2 * 0.225, "b": 1 - 2 * 0.15, "c": 1.0})
    tr.method.schedule({"a": 0.9, "b": 0.6, "c": 0.5})                    # gaps 0.35, -0.1, -0.25: only a
    assert tr.method.ratio["a"] < 1.0 and tr.method.ratio["b"] == tr.method.ratio["c"] == 1.0
    tr.method.schedule({"a": 0.7, "b": 0.7, "c": 0.7})                    # an exact tie throttles nobody
    assert tr.method.ratio == {"a": 1.0, "b": 1.0, "c": 1.0}
    assert throttled({"a": 0.1, "b": 0.1, "c": 0.1, "d": 0.1}, 0.0) == set()   # also when floating point makes the gap 1e-17
    m = R.run(load_config("synthetic", TINY + THREE, method="asgml_adaptive"), tmp_path)
    assert set(m["update_ratio"]) == {"a", "b", "c"}

@pytest.mark.parametrize("method,knob", [("asgml_frequency", "ratio"), ("asgml_staleness", "tau"), ("asgml_adaptive", "ratio"),
                                         ("asgml_adaptive+staleness", "tau"), ("modality_lr", "lr")])
@pytest.mark.parametrize("target", ["dominant", "weakest"])
def test_every_schedule_throttles_by_the_rule(method, knob, target):
    "Three modalities, 0.9 / 0.85 / 0.3: dominant throttles a and b, weakest throttles c; a tie or a gap inside delta nobody."
    name, extra = (method.split("+")[0], ["asgml.adapt=staleness"]) if "+" in method else (method, [])
    tr = trainer(name, THREE + NO_EVAL + extra + [f"asgml.schedule_target={target}", "asgml.threshold_delta=0.1"])
    lr0 = {m: o.param_groups[0]["lr"] for m, o in tr.encoder_opts.items()}
    def slowed() -> set[str]:
        if knob == "ratio": return {m for m, r in tr.method.ratio.items() if r < 1}
        if knob == "tau": return {m for m, t in tr.method.tau.items() if t > 0}
        return {m for m, o in tr.encoder_opts.items() if o.param_groups[0]["lr"] < lr0[m]}
    tr.method.schedule({"a": 0.9, "b": 0.85, "c": 0.3})
    assert slowed() == ({"a", "b"} if target == "dominant" else {"c"})
    tr.method.schedule({"c": 0.9, "b": 0.85, "a": 0.3})                   # order of the dict does not matter
    assert slowed() == ({"c", "b"} if target == "dominant" else {"a"})
    for tie in ({"a": 0.5, "b": 0.5, "c": 0.5}, {"a": 0.55, "b": 0.5, "c": 0.5}):
        tr.method.schedule(tie); assert slowed() == set()

@pytest.mark.parametrize("target,boosted", [("dominant", "weak"), ("weakest", "easy")])
def test_boost_follows_the_target(target, boosted):
    tr = trainer("asgml_boost", NO_EVAL + [f"asgml.schedule_target={target}", "asgml.boost_alpha=1.0", "asgml.threshold_delta=0.1"])
    tr.method.schedule({"easy": 0.9, "weak": 0.5})
    assert tr.method.mult[boosted] == pytest.approx(1 + 0.3 / 0.9) and tr.method.mult[({"easy", "weak"} - {boosted}).pop()] == 1.0

def test_weakest_target_two_modalities():
    for name in ("asgml_frequency", "asgml_adaptive"):
        tr = trainer(name, NO_EVAL + ["asgml.schedule_target=weakest", "asgml.k_ratio=2"])
        tr.method.schedule({"easy": 0.9, "weak": 0.4})
        assert tr.method.ratio["easy"] == 1.0 and tr.method.ratio["weak"] < 1.0
        if name == "asgml_frequency": assert tr.method.ratio["weak"] == 0.5
        else: assert tr.method.ratio["weak"] == pytest.approx(max(0.25, 1 - 2 * (0.5 - 0.1)))   # neutral rho and q

# --- every mode ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["asgml_frequency", "asgml_staleness", "asgml_adaptive", "asgml_boost", "modality_lr",
                                    "grad_half+asgml_adaptive"])
@pytest.mark.parametrize("extra", [[], ["asgml.adapt=staleness", "asgml.probe_signal=random", "asgml.delay_compensation=0.04"],
                                   ["asgml.schedule_target=weakest", "asgml.staleness_warmup=skip"]])
def test_every_mode_trains_an_epoch(tmp_path, method, extra, scratch_registry):
    @register_method("grad_half", sweep=False)
    class GradHalf(Method):                        # a trivial synchronous method to compose with
        def after_backward(self, s):
            for e in self.ctx.model.encoders.values(): scale_grads(e.parameters(), 0.5)
            return {}
    m = R.run(load_config("synthetic", TINY + extra, method=method), tmp_path)
    assert m["epochs"] == 1 and set(m["probe_acc"]) == {"easy", "weak"} and 0 < min(m["update_ratio"].values()) <= 1
    assert (tmp_path / "probes.csv").exists()

def test_composition_order_puts_staleness_last():
    comp = build_method("asgml_staleness+baseline")
    assert [type(p).__name__ for p in comp.parts] == ["Method", "ASGMLStaleness"] and comp.needs_probes
