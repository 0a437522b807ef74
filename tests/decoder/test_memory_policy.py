"""The command line fixes glibc's mmap threshold (decoder.gcpolicy.fixed_mmap_threshold), unless the user chose one."""
from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from decoder.gcpolicy import MMAP_THRESHOLD, fixed_mmap_threshold

glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not glibc, reason="mallopt's M_MMAP_THRESHOLD is glibc's")
def test_set_on_glibc_and_a_large_buffer_is_a_mapping_again_after_a_large_free():
    code = f"""
import ctypes, sys
from decoder.gcpolicy import fixed_mmap_threshold
assert fixed_mmap_threshold()
big = bytearray(4 << 20)      # a 4 MiB block, mapped; freeing it would raise a dynamic threshold to 4 MiB
del big
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
# with the threshold fixed at {MMAP_THRESHOLD}, a 1 MiB block is still mapped: glibc's malloc_usable_size of a mapped
# chunk is its mapping's size minus the header, a multiple of the page size minus 16 bytes
p = libc.malloc(1 << 20)
libc.malloc_usable_size.restype = ctypes.c_size_t
libc.malloc_usable_size.argtypes = (ctypes.c_void_p,)
n = libc.malloc_usable_size(p)
libc.free(p)
print(n)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert (int(out) + 16) % 4096 == 0


def test_left_alone_when_the_user_chose_a_threshold(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert fixed_mmap_threshold() is False
