// RwLock, Mutex, CondVar and Thread (sync.h, thread.h) over the userspace shim.
#include <bento/sync.h>
#include <bento/thread.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <thread>
#include <utility>
#include <vector>

namespace bento {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Runs f on another thread; false if it did not finish in time (the thread is then left
// blocked: the test has failed anyway).
bool finishes_within(std::function<void()> f, std::chrono::milliseconds limit) {
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  std::thread([f = std::move(f), done] {
    f();
    done->set_value();
  }).detach();
  return fut.wait_for(limit) == std::future_status::ready;
}

TEST(RwLock, GuardsReleaseIncludingMovedOnes) {
  RwLock<int> lock(1);
  {
    auto w = lock.write();
    *w = 2;
    auto moved = std::move(w);
    *moved = 3;
  }
  EXPECT_TRUE(finishes_within([&] { *lock.write() += 1; }, 5000ms));
  {
    auto r = lock.read();
    auto moved = std::move(r);
    EXPECT_EQ(*moved, 4);
  }
  EXPECT_TRUE(finishes_within([&] { *lock.write() += 1; }, 5000ms));
  EXPECT_EQ(lock.unlocked(), 5);
}

TEST(RwLock, ReadersShareTheLock) {
  RwLock<int> lock(7);
  std::atomic<int> inside{0};
  std::atomic<bool> both_seen{false};
  auto reader = [&] {
    auto r = lock.read();
    inside++;
    auto deadline = Clock::now() + 5s;
    while (inside.load() < 2 && Clock::now() < deadline) std::this_thread::yield();
    if (inside.load() == 2) both_seen = true;
  };
  std::thread a(reader), b(reader);
  a.join();
  b.join();
  EXPECT_TRUE(both_seen);
}

// Four readers keep the lock read-held nearly all the time; a writer must still get in
// quickly each time (every fs call holds the read lock; a live upgrade needs the write lock).
TEST(RwLock, WriterIsNotStarvedByReaders) {
  struct Pair {
    uint64_t a = 0, b = 0;
  };
  RwLock<Pair> lock;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, torn{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; i++) {
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        auto r = lock.read();
        if (r->a != r->b) torn++;
        // Hold it a little, so that read sections of different threads overlap.
        for (int spin = 0; spin < 200; spin++) {
          if (r->a != r->b) torn++;
        }
        reads++;
      }
    });
  }
  while (reads.load() < 1000) std::this_thread::yield();
  // The writer runs on its own thread so that a starved writer fails the test (the readers
  // are stopped after the deadline, which lets it finish) instead of hanging it.
  std::atomic<int64_t> worst_ns{0};
  std::promise<void> writer_done;
  std::thread writer([&] {
    for (int i = 0; i < 50; i++) {
      auto t0 = Clock::now();
      {
        auto w = lock.write();
        int64_t ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
        if (ns > worst_ns) worst_ns = ns;
        w->a++;
        std::this_thread::yield();  // a torn pair would be visible to a reader now
        w->b++;
      }
      uint64_t before = reads.load();
      auto deadline = Clock::now() + 5s;
      while (!stop && reads.load() < before + 10 && Clock::now() < deadline)
        std::this_thread::yield();
    }
    writer_done.set_value();
  });
  bool finished = writer_done.get_future().wait_for(10s) == std::future_status::ready;
  stop = true;
  writer.join();
  for (auto& r : readers) r.join();
  EXPECT_TRUE(finished) << "the writer was starved";
  Clock::duration worst = std::chrono::nanoseconds(worst_ns.load());
  EXPECT_LT(worst, 1s);
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_EQ(lock.unlocked().a, 50u);
  EXPECT_EQ(lock.unlocked().b, 50u);
}

TEST(Mutex, ExcludesAndReleases) {
  Mutex<uint64_t> counter(0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; i++) {
        auto g = counter.lock();
        *g = *g + 1;  // a non-atomic read-modify-write: lost updates if not exclusive
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(counter.unlocked(), 160000u);
  {
    auto g = counter.lock();
    EXPECT_FALSE(g.raw().try_lock());  // held
    auto moved = std::move(g);
  }
  RawMutex raw;
  EXPECT_TRUE(raw.try_lock());
  raw.unlock();
  EXPECT_TRUE(finishes_within([&] { *counter.lock() += 1; }, 5000ms));
}

TEST(CondVar, HandsItemsFromProducerToConsumer) {
  Mutex<std::deque<int>> queue;
  CondVar cv;
  constexpr int kItems = 5000;
  int64_t sum = 0;
  std::thread consumer([&] {
    for (int got = 0; got < kItems; got++) {
      auto g = queue.lock();
      while (g->empty()) cv.wait(g);
      sum += g->front();
      g->pop_front();
    }
  });
  for (int i = 1; i <= kItems; i++) {
    queue.lock()->push_back(i);
    cv.notify_one();
  }
  consumer.join();
  EXPECT_EQ(sum, int64_t{kItems} * (kItems + 1) / 2);
}

TEST(CondVar, WaitForTimesOut) {
  Mutex<int> m(0);
  CondVar cv;
  auto g = m.lock();
  auto t0 = Clock::now();
  EXPECT_FALSE(cv.wait_for(g, 30'000'000));
  EXPECT_GE(Clock::now() - t0, 29ms);
  *g = 1;  // still held after the wait
}

TEST(CondVar, NotifyAllWakesEveryWaiter) {
  Mutex<bool> go(false);
  CondVar cv;
  std::atomic<int> woke{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 4; i++) {
    waiters.emplace_back([&] {
      auto g = go.lock();
      while (!*g) cv.wait(g);
      woke++;
    });
  }
  *go.lock() = true;
  cv.notify_all();
  for (auto& w : waiters) w.join();
  EXPECT_EQ(woke.load(), 4);
}

TEST(Thread, RunsAndJoins) {
  std::atomic<int> ran{0};
  auto fn = [](void* arg) { static_cast<std::atomic<int>*>(arg)->fetch_add(1); };
  auto t = Thread::spawn(fn, &ran, "bento-test");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->joinable());
  t->join();
  EXPECT_FALSE(t->joinable());
  EXPECT_EQ(ran.load(), 1);
  {
    auto a = Thread::spawn(fn, &ran, "a-name-longer-than-15-chars");
    ASSERT_TRUE(a.ok());
    Thread moved = std::move(*a);
    EXPECT_FALSE(a->joinable());
    auto b = Thread::spawn(fn, &ran, nullptr);
    ASSERT_TRUE(b.ok());
    moved = std::move(*b);  // joins the first thread
    EXPECT_GE(ran.load(), 2);
  }  // destructor joins the second
  EXPECT_EQ(ran.load(), 3);
}

}  // namespace
}  // namespace bento
