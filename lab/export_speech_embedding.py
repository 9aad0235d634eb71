"""Turn the stop spotter's two ONNX models into the arrays voicecoach runs them from.

    pip install onnx
    python lab/export_speech_embedding.py

Reads voicecoach/voice/hearing/models/melspectrogram.onnx and
embedding_model.onnx (see that folder's README for where they come from) and
writes speech_embedding.npz beside them: the spectrogram's filters, and the
embedding network as a chain of layers (the graph is one chain) with their
weights. voicecoach/voice/hearing/speech_embedding.py runs that chain in numpy,
so a session does not load onnxruntime (measured: 27 MB of the session's
memory). The script refuses a graph holding anything that runner does not do.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parent.parent / "voicecoach" / "voice" / "hearing" / "models"


def main() -> int:
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        print("needs the onnx package: pip install onnx", file=sys.stderr)
        return 2

    arrays: dict[str, np.ndarray] = {}
    arrays.update(_spectrogram(onnx.load(str(MODELS / "melspectrogram.onnx")), numpy_helper))
    layers = _embedding_chain(onnx.load(str(MODELS / "embedding_model.onnx")), numpy_helper,
                              arrays, onnx.helper.get_attribute_value)
    arrays["layers"] = np.array(json.dumps(layers))
    out = MODELS / "speech_embedding.npz"
    np.savez_compressed(out, **arrays)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {len(layers)} layers)")
    return 0


def _spectrogram(model, numpy_helper) -> dict[str, np.ndarray]:
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    ops = [n.op_type for n in model.graph.node if n.op_type != "Constant"]
    expected = ["Unsqueeze", "Conv", "Conv", "Unsqueeze", "Transpose", "Unsqueeze",
                "Transpose", "Pow", "Pow", "Add", "MatMul", "Clip", "Log", "Mul", "Div",
                "Sub", "ReduceMax", "Sub", "Cast", "Clip"]
    if ops != expected:
        raise SystemExit(f"melspectrogram.onnx is not the graph this script knows: {ops}")
    constants = [float(numpy_helper.to_array(a.t)) for n in model.graph.node
                 if n.op_type == "Constant" for a in n.attribute if a.t.dims == []]
    # power -> mel -> clip(1e-10) -> 10*log10 -> floor at (max - top_db)
    if constants[-1] != 80.0 or not np.isclose(float(init["onnx::Clip_39"]), 1e-10):
        raise SystemExit(f"unexpected spectrogram constants: {constants}")
    return {"stft_real": init["0.stft.conv_real.weight"][:, 0, :],
            "stft_imag": init["0.stft.conv_imag.weight"][:, 0, :],
            "mel_filters": init["1.melW"], "mel_floor": np.float32(1e-10),
            "top_db": np.float32(80.0)}


def _embedding_chain(model, numpy_helper, arrays: dict[str, np.ndarray],
                     attribute_value) -> list[dict[str, object]]:
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    layers: list[dict[str, object]] = []
    previous = model.graph.input[0].name
    for node in model.graph.node:
        if node.input[0] != previous:
            raise SystemExit(f"the embedding graph is not a chain at {node.name}")
        previous = node.output[0]
        attrs = {a.name: attribute_value(a) for a in node.attribute}
        op = node.op_type
        if op == "Pad":
            pads = [int(v) for v in init[node.input[1]]]
            if pads != [0, 0, 1, 0, 0, 0, 1, 0]:
                raise SystemExit(f"unexpected input padding {pads}")
            layers.append({"op": "input", "pad_w": 1})  # NHWC, one channel: pad W by 1
        elif op == "Reshape":
            continue  # NHWC <-> NCHW with one channel, and the final (1, 1, 1, 96)
        elif op == "Conv":
            name = f"conv{sum(layer['op'] == 'conv' for layer in layers)}"
            weight = init[node.input[1]]
            bias = (init[node.input[2]] if len(node.input) > 2
                    else np.zeros(weight.shape[0], dtype=np.float32))
            pads = [int(v) for v in attrs.get("pads", [0, 0, 0, 0])]
            if (pads[0], pads[2]) != (0, 0) or pads[1] != pads[3] or attrs.get("group", 1) != 1 \
                    or list(attrs.get("strides", [1, 1])) != [1, 1]:
                raise SystemExit(f"{name}: a convolution this runner does not do: {attrs}")
            arrays[f"{name}_w"], arrays[f"{name}_b"] = weight, bias
            layers.append({"op": "conv", "name": name, "pad_w": pads[1]})
        elif op == "Relu":
            layers.append({"op": "max", "value": 0.0})
        elif op == "Max":
            layers.append({"op": "max", "value": float(init[node.input[1]].ravel()[0])})
        elif op == "LeakyRelu":
            layers.append({"op": "leaky", "alpha": float(attrs["alpha"])})
        elif op == "BatchNormalization":
            scale, bias, mean, var = (init[i] for i in node.input[1:])
            factor = scale / np.sqrt(var + np.float32(attrs["epsilon"]))
            name = f"norm{sum(layer['op'] == 'affine' for layer in layers)}"
            arrays[f"{name}_scale"] = factor.astype(np.float32)
            arrays[f"{name}_shift"] = (bias - mean * factor).astype(np.float32)
            layers.append({"op": "affine", "name": name})
        elif op == "MaxPool":
            if any(attrs.get("pads", [0])) or list(attrs["strides"]) != list(attrs["kernel_shape"]):
                raise SystemExit(f"a pooling this runner does not do: {attrs}")
            layers.append({"op": "pool", "size": [int(v) for v in attrs["kernel_shape"]]})
        else:
            raise SystemExit(f"the embedding graph holds a {op}, which the runner does not do")
    return layers


if __name__ == "__main__":
    sys.exit(main())
