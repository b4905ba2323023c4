// The flag table of docs/configuration.md is FlagTableMarkdown()'s output, so the documentation
// and --help cannot drift: a setting added, renamed or reworded fails here until
// tests/scripts/update-flag-table.sh has rewritten the table.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "proxy/config/config_loader.h"
#include "proxy/config/settings.h"

namespace ehp {
namespace {

constexpr std::string_view kBegin = "<!-- flag-table:begin";
constexpr std::string_view kEnd = "<!-- flag-table:end -->";

TEST(FlagTableTest, DocsCarryTheGeneratedTable) {
  const auto path = std::filesystem::path(EHP_SOURCE_DIR) / "docs" / "configuration.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string doc = buf.str();
  const size_t begin = doc.find(kBegin);
  ASSERT_NE(begin, std::string::npos) << path << " has no " << kBegin << " line";
  const size_t body = doc.find('\n', begin) + 1;
  const size_t end = doc.find(kEnd, body);
  ASSERT_NE(end, std::string::npos) << path << " has no " << kEnd << " line";
  EXPECT_EQ(doc.substr(body, end - body), "\n" + FlagTableMarkdown() + "\n")
      << "run tests/scripts/update-flag-table.sh";
}

// Every setting is in the table, with its default, once.
TEST(FlagTableTest, EverySettingOnce) {
  const std::string table = FlagTableMarkdown();
  const Config defaults;
  for (const Setting& s : AllSettings()) {
    const std::string flag = "| `--" + std::string(s.name);
    const size_t at = table.find(flag + (s.value_name.empty() ? "`" : "="));
    ASSERT_NE(at, std::string::npos) << s.name;
    EXPECT_EQ(table.find(flag + (s.value_name.empty() ? "`" : "="), at + 1), std::string::npos)
        << s.name;
    const std::string def = s.show(defaults);
    if (!def.empty() && def.find('|') == std::string::npos) {
      const std::string row = table.substr(at, table.find('\n', at) - at);
      EXPECT_NE(row.find("`" + def + "`"), std::string::npos) << row;
    }
  }
}

TEST(FlagTableTest, HelpMarkdownFlag) {
  const LoadResult r = LoadConfig({"--help=markdown"});
  EXPECT_TRUE(r.show_help);
  EXPECT_TRUE(r.show_help_markdown);
  EXPECT_FALSE(LoadConfig({"--help"}).show_help_markdown);
}

}  // namespace
}  // namespace ehp
