"""Reading a Windows directory's owner and DACL, and this process's user SID, through ctypes.

Only what ``owner.acl_problem`` needs to decide, as plain values; Windows only (the decision is
pure and unit-tested on every platform).
"""

from __future__ import annotations

import sys

assert sys.platform == "win32"  # imported by owner.private_dir_problem on Windows only

import ctypes
from ctypes import wintypes

SE_FILE_OBJECT = 1
OWNER_SECURITY_INFORMATION = 0x1
DACL_SECURITY_INFORMATION = 0x4
ACCESS_ALLOWED_ACE_TYPE = 0
TOKEN_QUERY = 0x0008
TOKEN_USER_CLASS = 1
# Any right that lets a holder change what runs from the directory.
WRITE_RIGHTS = (
    0x0002  # FILE_WRITE_DATA / FILE_ADD_FILE
    | 0x0004  # FILE_APPEND_DATA / FILE_ADD_SUBDIRECTORY
    | 0x0040  # FILE_DELETE_CHILD
    | 0x00010000  # DELETE
    | 0x00040000  # WRITE_DAC
    | 0x00080000  # WRITE_OWNER
    | 0x10000000  # GENERIC_ALL
    | 0x40000000  # GENERIC_WRITE
)


class ACE_HEADER(ctypes.Structure):
    _fields_ = [("AceType", ctypes.c_ubyte), ("AceFlags", ctypes.c_ubyte), ("AceSize", wintypes.WORD)]


class ACCESS_ALLOWED_ACE(ctypes.Structure):
    _fields_ = [("Header", ACE_HEADER), ("Mask", wintypes.DWORD), ("SidStart", wintypes.DWORD)]


class ACL(ctypes.Structure):
    _fields_ = [
        ("AclRevision", ctypes.c_ubyte), ("Sbz1", ctypes.c_ubyte),
        ("AclSize", wintypes.WORD), ("AceCount", wintypes.WORD), ("Sbz2", wintypes.WORD),
    ]  # fmt: skip


_advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)
_kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
# Every function called has its argtypes and restype: without them ctypes passes a Python int as a C int,
# and the pseudo-handle of this process (-1, read back as 2**64 - 1) overflows it (ArgumentError).
_advapi32.GetNamedSecurityInfoW.restype = wintypes.DWORD
_advapi32.GetNamedSecurityInfoW.argtypes = [
    wintypes.LPCWSTR, ctypes.c_int, wintypes.DWORD, *[ctypes.POINTER(ctypes.c_void_p)] * 5
]
_advapi32.ConvertSidToStringSidW.restype = wintypes.BOOL
_advapi32.ConvertSidToStringSidW.argtypes = [ctypes.c_void_p, ctypes.POINTER(wintypes.LPWSTR)]
_advapi32.GetAce.restype = wintypes.BOOL
_advapi32.GetAce.argtypes = [ctypes.c_void_p, wintypes.DWORD, ctypes.POINTER(ctypes.c_void_p)]
_kernel32.LocalFree.restype = ctypes.c_void_p
_kernel32.LocalFree.argtypes = [ctypes.c_void_p]
_kernel32.GetCurrentProcess.restype = wintypes.HANDLE
_kernel32.GetCurrentProcess.argtypes = []
_kernel32.CloseHandle.restype = wintypes.BOOL
_kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
_advapi32.OpenProcessToken.restype = wintypes.BOOL
_advapi32.OpenProcessToken.argtypes = [wintypes.HANDLE, wintypes.DWORD, ctypes.POINTER(wintypes.HANDLE)]
_advapi32.GetTokenInformation.restype = wintypes.BOOL
_advapi32.GetTokenInformation.argtypes = [
    wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD, ctypes.POINTER(wintypes.DWORD)
]


def _sid_string(sid: int | None) -> str:
    text = wintypes.LPWSTR()
    if not sid or not _advapi32.ConvertSidToStringSidW(sid, ctypes.byref(text)):
        raise ctypes.WinError(ctypes.get_last_error())
    try:
        return str(text.value)
    finally:
        _kernel32.LocalFree(text)


def read_acl(path: str) -> tuple[str, tuple[str, ...]]:
    """The owner and every SID an allow-ACE lets write ``path`` (as ``owner.Acl`` holds them)."""
    owner = ctypes.c_void_p()
    dacl = ctypes.c_void_p()
    descriptor = ctypes.c_void_p()
    status = _advapi32.GetNamedSecurityInfoW(
        path,
        SE_FILE_OBJECT,
        OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
        ctypes.byref(owner),
        None,
        ctypes.byref(dacl),
        None,
        ctypes.byref(descriptor),
    )
    if status != 0:
        raise ctypes.WinError(status)
    try:
        writers: list[str] = []
        if not dacl.value:
            writers.append("S-1-1-0")  # a NULL DACL grants everyone everything
        else:
            count = ACL.from_address(dacl.value).AceCount
            for index in range(count):
                ace = ctypes.c_void_p()
                if not _advapi32.GetAce(dacl, index, ctypes.byref(ace)) or not ace.value:
                    continue
                allowed = ACCESS_ALLOWED_ACE.from_address(ace.value)
                if allowed.Header.AceType == ACCESS_ALLOWED_ACE_TYPE and allowed.Mask & WRITE_RIGHTS:
                    writers.append(_sid_string(ace.value + ACCESS_ALLOWED_ACE.SidStart.offset))
        return _sid_string(owner.value), tuple(writers)
    finally:
        _kernel32.LocalFree(descriptor)


def my_sid() -> str:
    """This process's user SID (its token's TokenUser)."""
    token = wintypes.HANDLE()
    if not _advapi32.OpenProcessToken(_kernel32.GetCurrentProcess(), TOKEN_QUERY, ctypes.byref(token)):
        raise ctypes.WinError(ctypes.get_last_error())
    try:
        size = wintypes.DWORD()
        _advapi32.GetTokenInformation(token, TOKEN_USER_CLASS, None, 0, ctypes.byref(size))
        buffer = ctypes.create_string_buffer(size.value)
        if not _advapi32.GetTokenInformation(token, TOKEN_USER_CLASS, buffer, size, ctypes.byref(size)):
            raise ctypes.WinError(ctypes.get_last_error())
        sid = ctypes.c_void_p.from_buffer(buffer).value  # TOKEN_USER starts with the SID's pointer
        return _sid_string(sid)
    finally:
        _kernel32.CloseHandle(token)
