/* DREAMAUTH_ASAN is defined in AddressSanitizer builds (gcc and clang). */
#ifndef DREAMAUTH_SANITIZER_H
#define DREAMAUTH_SANITIZER_H
#if defined(__SANITIZE_ADDRESS__)
#define DREAMAUTH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DREAMAUTH_ASAN 1
#endif
#endif
#endif
