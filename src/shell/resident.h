// The executor's resident set, kept to the code it runs. Most of an idle executor's RSS is its own
// program text: when a page of it faults in, the kernel maps the neighbouring pages already in the
// page cache too (fault-around), so start-up and the launch leave nearly the whole binary mapped
// (7.3 of 8 MiB for the static build), although a running task uses a small part of it. Once the
// task runs, the read-only mappings of the executable that hold no private (written) pages are
// dropped with MADV_DONTNEED: their pages stay in the page cache (nothing is read from disk again),
// those still used fault back in, and the rest, no longer mapped, are the first the kernel reclaims
// under memory pressure. Written mappings (data, relocated RELRO pages) are never touched.
//
// How much a fault maps depends on how the file sits in the page cache: a file written or read with
// read() (the wrapper's copy into the sandbox) is cached in large folios, and one fault maps its
// whole folio — up to hundreds of KiB, so a few faults bring most of the binary back. A release is
// therefore followed by dropping the executable's unmapped pages from the page cache (written back
// first): what faults in afterwards is read again in the small pieces of mmap read-around, and a
// fault maps at most the kernel's fault-around window (64 KiB). Each task runs its own copy of the
// binary (the wrapper's), so no other executor loses cached pages; a binary shared by several
// executors only has its unused pages read from disk again.
#pragma once

#include <cstddef>

namespace shell {

// Returns the bytes of mappings released (0 when there was nothing to do or /proc is unreadable).
std::size_t release_startup_pages();

// Writes back and drops from the page cache the executable's pages that no process maps (call it
// after release_startup_pages, off any thread that must answer quickly: the write-back of a fresh
// copy waits for the disk); false when the file cannot be opened.
bool drop_executable_cache();

}  // namespace shell
