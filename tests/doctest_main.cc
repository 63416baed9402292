// The main() of every doctest binary, with a TAP reporter so that `meson test` (protocol: 'tap')
// shows the result of every TEST_CASE. Pass --reporters=console for doctest's usual output.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <mutex>
#include <string>

namespace {

class TapReporter final : public doctest::IReporter {
 public:
  explicit TapReporter(const doctest::ContextOptions&) {}

  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {
    std::printf("1..%d\n", count_);
    std::fflush(stdout);
  }
  void test_case_start(const doctest::TestCaseData& tc) override { current_ = &tc; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats& st) override {
    ++count_;
    bool failed = st.failure_flags != 0 && !(st.failure_flags & doctest::TestCaseFailureReason::ShouldHaveFailedAndDid);
    std::printf("%s %d - %s (%.2fs)\n", failed ? "not ok" : "ok", count_, current_->m_name, st.seconds);
    std::fflush(stdout);
  }
  void test_case_exception(const doctest::TestCaseException& e) override {
    std::printf("# exception: %s\n", e.error_string.c_str());
  }
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData& ad) override {
    if (!ad.m_failed) return;
    std::lock_guard lock(mu_);
    std::printf("# %s:%d: %s( %s ) failed", ad.m_file, ad.m_line, doctest::assertString(ad.m_at), ad.m_expr);
    if (ad.m_decomp.size() > 0) std::printf(" with %s", ad.m_decomp.c_str());
    if (ad.m_threw) std::printf(" threw %s", ad.m_exception.c_str());
    std::printf("\n");
  }
  void log_message(const doctest::MessageData& md) override {
    std::lock_guard lock(mu_);
    std::printf("# %s:%d: %s\n", md.m_file, md.m_line, md.m_string.c_str());
  }
  void test_case_skipped(const doctest::TestCaseData& tc) override {}

 private:
  const doctest::TestCaseData* current_ = nullptr;
  int count_ = 0;
  std::mutex mu_;
};

REGISTER_REPORTER("tap", 1, TapReporter);

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context;
  context.setOption("reporters", "tap");
  context.setOption("no-intro", true);
  context.applyCommandLine(argc, argv);
  return context.run();
}
