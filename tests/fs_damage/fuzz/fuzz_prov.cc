// The provenance log (format/prov_log.h): header check, the record decoder over the input
// as a ring block, and fsck's header rebuild over an area made of the input.
#include <cstring>

#include "format/prov_log.h"
#include "fuzz_util.h"
#include "tools/fsck_prov.h"

using namespace bentofs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16 * 4096) return 0;
  prov::ProvLogHeader h{};
  memcpy(&h, data, size < sizeof h ? size : sizeof h);
  (void)prov::check_header(h, 9);
  // Records: decode from each 4 KiB block's start, as readers do.
  for (size_t blk = 0; blk * 4096 < size; blk++) {
    size_t off = 0, end = size - blk * 4096 < 4096 ? size - blk * 4096 : 4096;
    const uint8_t* p = data + blk * 4096;
    while (off < end) {
      prov::Record r;
      uint32_t len = 0;
      if (prov::decode_record(p + off, end - off, &r, &len) != prov::DecodeError::kOk) break;
      if (len == 0 || len > end - off) __builtin_trap();  // the decoder's length is in bounds
      off += len;
    }
  }
  auto dev = fuzz::device_with(data, size, 17, 0);
  std::string what;
  if (prov_header_rebuild(*dev, 0, 17, &what)) {
    prov::ProvLogHeader nh;
    dev->peek(0, &nh, sizeof nh);
    if (prov::check_header(nh, 17) != nullptr) __builtin_trap();  // rebuilt header is sound
  }
  return 0;
}
