// Debian's record of the configuration files its packages shipped: dpkg's status file lists,
// under each package's "Conffiles:", every such path with the MD5 of its content as
// shipped. A file whose content still has that MD5 is the package's configuration as
// installed (/etc/java-17-openjdk/security/java.security, /etc/ssh/ssh_config): runtime
// for the short answer (runtime_rule.h, rule 5). One an administrator (or an intruder)
// changed has another MD5 and stays data.
#pragma once

#include <string>
#include <unordered_map>

namespace prov_cli {

class PackageConfiguration {
 public:
  // BENTO_PROV_DPKG_STATUS names another status file (tests); default /var/lib/dpkg/status.
  PackageConfiguration();

  // Whether `path` is a conffile of some package and its content now is as shipped. Read
  // once per path; a status file or file that cannot be read answers false.
  bool as_shipped(const std::string& path);

 private:
  void load();

  std::string status_path_;
  bool loaded_ = false;
  std::unordered_map<std::string, std::string> shipped_;  // path -> MD5, lowercase hex
  std::unordered_map<std::string, bool> verdicts_;
};

// The MD5 of a regular file's content as lowercase hex, "" when it cannot be read or is
// larger than `max_bytes`.
std::string file_md5(const std::string& path, size_t max_bytes);

}  // namespace prov_cli
