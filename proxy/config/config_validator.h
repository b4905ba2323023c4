// Cross-field and environment checks on a parsed Config.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "proxy/config/config_loader.h"

namespace ehp {

// Appends one message per problem to *errors (and start-up warnings to *warnings). Settings named
// in `failed` did not parse and are not checked again.
void ValidateConfig(const Config& config, const Origins& origins,
                    const std::set<std::string, std::less<>>& failed,
                    std::vector<std::string>* errors, std::vector<std::string>* warnings);

}  // namespace ehp
