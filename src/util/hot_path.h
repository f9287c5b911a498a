// What an executor runs while its task runs and nothing else happens: the Sidecar poll, every second
// for the task's whole life. Each executor maps its own copy of the binary, and a fault in it maps the
// 64 KiB around the page (fault-around), so every 64 KiB of text this code touches stays resident.
// Functions marked HOT_PATH are placed together by GCC (the .text.hot section) and share a few such
// windows instead of one per partition of the link-time optimizer.
#pragma once

#define HOT_PATH [[gnu::hot]]
