"""The text of a PDF as weasyprint writes it (Flate streams, object streams, Type0 fonts with
ToUnicode maps): enough to assert on a report's figures without a PDF library."""

from __future__ import annotations

import re
import zlib

_OBJ = re.compile(rb"(\d+)\s+0\s+obj\b")
_REF = re.compile(rb"/([A-Za-z0-9_+-]+)\s+(\d+)\s+0\s+R")
_TOKEN = re.compile(rb"/[^\s/\[\]<>()]+|<[0-9A-Fa-f\s]*>|\[|\]|[-+]?\d*\.?\d+|[A-Za-z'\"*]+")


def _objects(pdf: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Object number -> (dictionary text, decoded stream or None), object streams unpacked."""
    found: dict[int, tuple[bytes, bytes | None]] = {}
    for match in _OBJ.finditer(pdf):
        start = match.end()
        end = pdf.find(b"endobj", start)
        body = pdf[start:end]
        stream_at = body.find(b"stream")
        if stream_at < 0:
            found[int(match.group(1))] = (body, None)
            continue
        head = body[:stream_at]
        length = int(re.search(rb"/Length\s+(\d+)", head).group(1))  # type: ignore[union-attr]
        data_start = start + stream_at + len(b"stream")
        data_start += 2 if pdf[data_start : data_start + 2] == b"\r\n" else 1
        raw = pdf[data_start : data_start + length]
        data = zlib.decompress(raw) if b"FlateDecode" in head else raw
        found[int(match.group(1))] = (head, data)
    for head, content in list(found.values()):
        if content is not None and b"/ObjStm" in head:
            data = content
            count = int(re.search(rb"/N\s+(\d+)", head).group(1))  # type: ignore[union-attr]
            first = int(re.search(rb"/First\s+(\d+)", head).group(1))  # type: ignore[union-attr]
            numbers = [int(n) for n in data[:first].split()]
            pairs = list(zip(numbers[0::2], numbers[1::2], strict=True))[:count]
            for index, (number, offset) in enumerate(pairs):
                stop = pairs[index + 1][1] if index + 1 < len(pairs) else len(data) - first
                found[number] = (data[first + offset : first + stop], None)
    return found


def _cmap(data: bytes) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, dst in re.findall(
            rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
        ):
            base = int(dst, 16)
            for offset, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                mapping[code] = chr(base + offset)
    return mapping


def pdf_text(pdf: bytes) -> str:
    """Every shown text run of the PDF, one per line, in content-stream order."""
    objects = _objects(pdf)
    fonts: dict[int, dict[int, str]] = {}
    for number, (head, _) in objects.items():
        if b"/Font" in head and b"/ToUnicode" in head:
            ref = re.search(rb"/ToUnicode\s+(\d+)\s+0\s+R", head)
            stream = objects.get(int(ref.group(1)))[1] if ref else None  # type: ignore[index]
            fonts[number] = _cmap(stream or b"")
    names: dict[bytes, dict[int, str]] = {}
    for head, _ in objects.values():
        for name, number in _REF.findall(head):
            if int(number) in fonts:
                names[name] = fonts[int(number)]
    runs: list[str] = []
    for _, data in objects.values():
        if data is None or b"BT" not in data or b"Tf" not in data:
            continue
        font: dict[int, str] = {}
        operands: list[bytes] = []
        for token in _TOKEN.findall(data):
            if token == b"Tf" and len(operands) >= 2:
                font = names.get(operands[-2].lstrip(b"/"), {})
            if token in (b"Tj", b"TJ"):
                text = ""
                for operand in operands:
                    if operand.startswith(b"<"):
                        hexed = re.sub(rb"\s", b"", operand[1:-1])
                        for i in range(0, len(hexed), 4):
                            text += font.get(int(hexed[i : i + 4], 16), "")
                runs.append(text)
            if token.isalpha() or token in (b"'", b'"', b"*"):
                operands = []
            else:
                operands.append(token)
    return "\n".join(runs)
