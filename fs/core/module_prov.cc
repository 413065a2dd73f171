// Bento-prov: Bento-fs with provenance tracking on (modules/bento_prov.so). The same code
// and on-disk format as bento_fs.so; the only difference is the tracking flag, so a live
// upgrade between the two switches tracking on and off (`prov enable` / `prov disable`).
#include <bento/module.h>

#include "core/bento_fs.h"

namespace bentofs {

class BentoProvFs final : public BentoFs {
 public:
  BentoProvFs() : BentoFs(true) {}
};

}  // namespace bentofs

BENTO_MODULE(bentofs::BentoProvFs, "bento-prov", "0.1.0",
             "Bento-prov: Bento-fs recording a durable provenance log")
