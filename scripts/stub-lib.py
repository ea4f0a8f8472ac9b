#!/usr/bin/env python3
"""Writes a stand-in for a shared library that a program loads but never calls.

FFmpeg's libraries as Debian builds them name some 190 others (x265, codec2, SDL, PulseAudio,
ICU, …) that the dynamic linker must find before twincast starts, although twincast calls
none of them. To carry twincast to a machine without those packages (a lent GPU machine
with no package registry; scripts/gpu-bundle.sh), each such library is replaced by one that
exports the same names under the same versions: functions that write "stub called: NAME"
to stderr and return 0, and zero-filled objects of the real sizes (in .bss, so they cost no
space). A program that does call one sees the line in its log.

    scripts/stub-lib.py /lib/x86_64-linux-gnu/libx265.so.199 OUT_DIR
"""
import os
import re
import subprocess
import sys
import tempfile

SYMBOL = re.compile(
    r"^\s*\d+:\s+[0-9a-f]+\s+(\d+|0x[0-9a-f]+)\s+(\w+)\s+(GLOBAL|WEAK)\s+\w+\s+(\w+)\s+(\S+)"
)


def soname(path):
    dynamic = subprocess.run(["readelf", "-dW", path], capture_output=True, text=True).stdout
    found = re.search(r"\(SONAME\)\s+Library soname: \[(.+?)\]", dynamic)
    return found.group(1) if found else os.path.basename(path)


def exported(path):
    """(name, version or None, kind, size) of each symbol the library defines by default."""
    table = subprocess.run(["readelf", "--dyn-syms", "-W", path], capture_output=True, text=True)
    symbols = []
    for line in table.stdout.splitlines():
        found = SYMBOL.match(line)
        if not found:
            continue
        size, kind, _, section, name = found.groups()
        if section in ("UND", "ABS") or kind not in ("FUNC", "OBJECT", "TLS", "IFUNC", "NOTYPE"):
            continue
        if name in ("_init", "_fini"):
            continue  # the linker would make them the stand-in's own initialiser
        if "@" in name and "@@" not in name:
            continue  # an old version kept for old programs; ours link the default one
        name, _, version = name.partition("@@")
        symbols.append((name, version or None, kind, int(size, 0)))
    return symbols


# Called whatever a program does, and read as a string: FFmpeg probes every input with
# libgme's `gme_identify_header(…)[0]`, which must be "" (not one of its formats), not NULL.
RETURNS_EMPTY_STRING = {"gme_identify_header"}


def assembly(symbols):
    lines = [".section .rodata", ".Lempty: .byte 0", ".text"]
    for i, (name, _, kind, _) in enumerate(symbols):
        if kind in ("FUNC", "IFUNC", "NOTYPE"):
            message = f"stub called: {name}\\n"
            length = len(name) + len("stub called: \n")
            result = "  lea .Lempty(%rip), %rax" if name in RETURNS_EMPTY_STRING else "  xor %eax, %eax"
            lines += [
                f'.globl "{name}"', f'.type "{name}",@function', f'"{name}":',
                f"  lea .Lmsg{i}(%rip), %rsi", f"  mov ${length}, %edx", "  mov $2, %edi",
                "  mov $1, %eax", "  syscall", result, "  ret",
                ".section .rodata", f'.Lmsg{i}: .ascii "{message}"', ".text",
            ]
    for name, _, kind, size in symbols:
        if kind in ("OBJECT", "TLS"):
            section = '.section .tbss,"awT",@nobits' if kind == "TLS" else ".bss"
            lines += [
                section, ".balign 16", f'.globl "{name}"',
                f'.type "{name}",@{"tls_object" if kind == "TLS" else "object"}',
                f'.size "{name}",{max(size, 1)}', f'"{name}": .zero {max(size, 1)}',
            ]
    lines.append('.section .note.GNU-stack,"",@progbits')
    return "\n".join(lines) + "\n"


def version_script(symbols):
    versions = {}
    for name, version, _, _ in symbols:
        versions.setdefault(version, []).append(name)
    if list(versions) == [None]:
        return None
    unversioned = versions.pop(None, [])
    nodes = []
    for i, (version, names) in enumerate(versions.items()):
        names = names + (unversioned if i == 0 else [])
        globals_ = " ".join(f'"{n}";' for n in names)
        nodes.append(f"{version} {{ global: {globals_} {'local: *;' if i == 0 else ''} }};")
    return "\n".join(nodes) + "\n"


def main():
    real, out_dir = sys.argv[1], sys.argv[2]
    name = soname(real)
    symbols = exported(real)
    with tempfile.TemporaryDirectory() as work:
        source = os.path.join(work, "stub.s")
        with open(source, "w") as f:
            f.write(assembly(symbols))
        command = ["gcc", "-shared", "-nostdlib", "-o", os.path.join(out_dir, name),
                   f"-Wl,-soname,{name}", "-Wl,-z,noexecstack", source]
        script = version_script(symbols)
        if script:
            path = os.path.join(work, "versions")
            with open(path, "w") as f:
                f.write(script)
            command.append(f"-Wl,--version-script={path}")
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
