// Shared by the fuzz targets: an in-memory image whose blocks come from the input.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "tools/image_device.h"

namespace bentofs::fuzz {

// `blocks` blocks; the input fills them from block `first` on (the rest stays zero).
inline std::unique_ptr<ImageDevice> device_with(const uint8_t* data, size_t size, uint64_t blocks,
                                                uint64_t first) {
  std::vector<uint8_t> img(blocks * 4096, 0);
  size_t room = (blocks - first) * 4096;
  memcpy(img.data() + first * 4096, data, size < room ? size : room);
  return ImageDevice::from_bytes(std::move(img));
}

}  // namespace bentofs::fuzz
