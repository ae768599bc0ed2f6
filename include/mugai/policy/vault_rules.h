/**
 * @file vault_rules.h
 * @brief The rules' vault: section alone (tiers, retention, approval, directory), for a process
 *        that must not link the sanitizers (the console: docs/console.md).
 *
 * Errors: std::nullopt with one line per problem ("FILE:LINE: key: text"), as loadPolicyText.
 */
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mugai/policy/policy.h"

namespace mugai::policy {

/// `text` is a whole rules file; only its vault: section is read and checked (the rest is the
/// engine's to check). `base_dir` resolves vault.directory.
std::optional<VaultRules> loadVaultRules(const std::string& text, const std::string& name,
                                         const std::string& base_dir,
                                         std::vector<std::string>& errors);

}  // namespace mugai::policy
