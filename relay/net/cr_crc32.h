/*
 * CRC-32 as STUN's FINGERPRINT uses it (RFC 8489 section 14.7, which points to ISO/IEC 3309 and
 * ITU-T V.42 8.1.1.6.2): reflected polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF.
 * This is the same CRC as zlib's crc32(). Internal to the net module.
 */
#ifndef CR_CRC32_H
#define CR_CRC32_H

#include <stddef.h>
#include <stdint.h>

/**
 * Continues a CRC-32 over len bytes of data (not owned, may be NULL when len is 0). Start with
 * crc = 0; feeding a message in pieces gives the same result as feeding it at once, as with zlib.
 */
uint32_t cr__crc32_update(uint32_t crc, const uint8_t *data, size_t len);

#endif
