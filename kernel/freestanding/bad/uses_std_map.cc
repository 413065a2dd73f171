// Must be rejected: std::map needs libstdc++'s red-black tree (_Rb_tree_insert_and_rebalance).
#include <map>

int bad_map_user(int k) {
  static std::map<int, int>* m = nullptr;
  return (*m)[k];
}
