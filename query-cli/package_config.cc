#include "package_config.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>

namespace prov_cli {

namespace {

// Conffiles are small; a larger file under their names is not worth hashing per query.
constexpr size_t kMaxConffileBytes = 4 << 20;

}  // namespace

std::string file_md5(const std::string& path, size_t max_bytes) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<size_t>(st.st_size) > max_bytes)
    return "";
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) return "";
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1) return "";
  char buf[65536];
  size_t total = 0, n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
    total += n;
    if (total > max_bytes || EVP_DigestUpdate(ctx.get(), buf, n) != 1) return "";
  }
  if (std::ferror(f.get())) return "";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) return "";
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; i++) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

PackageConfiguration::PackageConfiguration() {
  const char* env = std::getenv("BENTO_PROV_DPKG_STATUS");
  status_path_ = env != nullptr ? env : "/var/lib/dpkg/status";
}

// The status file is paragraphs of "Field: value" lines; "Conffiles:" is followed by
// continuation lines " PATH MD5 [obsolete|remove-on-upgrade]". A conffile not yet unpacked
// has the MD5 "newconffile".
void PackageConfiguration::load() {
  loaded_ = true;
  std::ifstream in(status_path_);
  std::string line;
  bool in_conffiles = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != ' ') {
      in_conffiles = line == "Conffiles:";
      continue;
    }
    if (!in_conffiles) continue;
    const size_t path_at = line.find_first_not_of(' ');
    const size_t path_end = line.find(' ', path_at);
    if (path_at == std::string::npos || path_end == std::string::npos) continue;
    const size_t md5_end = line.find(' ', path_end + 1);
    std::string md5 = line.substr(
        path_end + 1, md5_end == std::string::npos ? std::string::npos : md5_end - path_end - 1);
    if (md5.size() != 32) continue;
    shipped_.emplace(line.substr(path_at, path_end - path_at), std::move(md5));
  }
}

bool PackageConfiguration::as_shipped(const std::string& path) {
  if (auto v = verdicts_.find(path); v != verdicts_.end()) return v->second;
  if (!loaded_) load();
  auto it = shipped_.find(path);
  const bool shipped = it != shipped_.end() && file_md5(path, kMaxConffileBytes) == it->second;
  verdicts_.emplace(path, shipped);
  return shipped;
}

}  // namespace prov_cli
