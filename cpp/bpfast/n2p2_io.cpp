#include "bpfast/n2p2_io.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "bpfast/elements.hpp"
#include "bpfast/errors.hpp"

namespace bpfast {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kMaxExponent = 1e300;  // largest eta (2 rc + |rs|)^2 accepted
constexpr double kMaxZeta = 1000.0;     // 2^zeta must not overflow

std::string format_number(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", v);
    return text;
}

std::string join_path(const std::string& dir, const std::string& name) {
    if (dir.empty()) return name;
    return dir.back() == '/' ? dir + name : dir + "/" + name;
}

bool file_exists(const std::string& path) {
    std::error_code ignored;
    return std::filesystem::exists(path, ignored);
}

/// Appends the lines of `text` split at CR, LF or CR LF (DOS and classic Mac files).
void split_lines(const std::string& text, std::vector<std::string>& lines) {
    size_t start = 0;
    while (start < text.size()) {
        const size_t end = text.find_first_of("\r\n", start);
        if (end == std::string::npos) {
            lines.push_back(text.substr(start));
            return;
        }
        lines.push_back(text.substr(start, end - start));
        start = end + (text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n' ? 2 : 1);
    }
}

/// The lines of a text file: a leading UTF-8 byte-order mark dropped, any line ending.
std::vector<std::string> read_lines(const std::string& path) {
    std::error_code ignored;
    const auto status = std::filesystem::status(path, ignored);
    if (std::filesystem::is_directory(status)) {
        throw FormatError(path, 0, "is a directory, expected a file");
    }
    if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
        // Opening a FIFO would wait for a writer.
        throw FormatError(path, 0, "is not a regular file (a pipe, socket or device), "
                                   "expected a file");
    }
    std::ifstream f(path, std::ios::binary);
    if (!f) throw FileNotFoundError(path);
    std::ostringstream content;
    content << f.rdbuf();
    if (f.bad()) throw FormatError(path, 0, "read error");
    std::string text = content.str();
    if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
    std::vector<std::string> lines;
    split_lines(text, lines);
    for (size_t k = 0; k < lines.size(); ++k) {
        if (lines[k].find('\0') != std::string::npos) {
            throw FormatError(path, static_cast<int>(k) + 1,
                              "binary data (a NUL byte): expected a text file");
        }
    }
    return lines;
}

std::vector<std::string> split(const std::string& s) {
    std::istringstream in(s);
    std::vector<std::string> out;
    std::string t;
    while (in >> t) out.push_back(t);
    return out;
}

/// A number in C or Fortran notation ("1.5", "1.0E-3", "1.0d0").
bool try_parse_double(const std::string& token, double& value) {
    std::string t = token;
    for (char& c : t) {
        if (c == 'd' || c == 'D') c = 'e';
    }
    errno = 0;
    char* end = nullptr;
    value = std::strtod(t.c_str(), &end);
    return end != t.c_str() && *end == '\0' && errno != ERANGE && std::isfinite(value);
}

struct Line {
    std::vector<std::string> args;  // tokens after the keyword
    int number;                     // 1-based
    std::string keyword;            // as written in the file (before aliases)
};

/// The keywords of an input.nn file.
class Settings {
  public:
    explicit Settings(const std::string& path) : path_(path) {
        static const std::map<std::string, std::string> aliases = {
            {"symfunction", "symfunction_short"},
            {"nnp_generation", "nnp_type"},
            {"nnp_type_gen", "nnp_type"},
            {"nnp_gen", "nnp_type"},
        };
        static const std::set<std::string> repeatable = {
            "symfunction_short",     "atom_energy",          "element_nodes_short",
            "element_hidden_layers_short", "element_activation_short", "fixed_gausswidth",
            "initial_hardness"};
        const auto lines = read_lines(path);
        for (size_t k = 0; k < lines.size(); ++k) {
            std::string text = lines[k];
            const size_t comment = text.find_first_of("#!");
            if (comment != std::string::npos) text.erase(comment);
            auto tokens = split(text);
            if (tokens.empty()) continue;
            const std::string written = tokens[0];
            std::string key = written;
            auto alias = aliases.find(key);
            if (alias != aliases.end()) key = alias->second;
            const int number = static_cast<int>(k) + 1;
            auto& entries = entries_[key];
            if (!entries.empty() && repeatable.count(key) == 0) {
                throw FormatError(path, number,
                                  "keyword '" + key + "' given a second time (first on line " +
                                      std::to_string(entries.front().number) + ")");
            }
            entries.push_back(
                {std::vector<std::string>(tokens.begin() + 1, tokens.end()), number, written});
        }
    }

    const std::string& path() const { return path_; }
    bool has(const std::string& key) const { return entries_.count(key) > 0; }
    const std::vector<Line>& all(const std::string& key) const {
        static const std::vector<Line> none;
        auto it = entries_.find(key);
        return it == entries_.end() ? none : it->second;
    }
    const Line& one(const std::string& key) const {
        auto it = entries_.find(key);
        if (it == entries_.end()) {
            throw FormatError(path_, 0, "missing required keyword '" + key + "'");
        }
        return it->second.front();
    }
    const Line& one(const std::string& key, size_t min_args) const {
        const Line& l = one(key);
        if (l.args.size() < min_args) {
            throw FormatError(path_, l.number,
                              "keyword '" + key + "' expects " + std::to_string(min_args) +
                                  " argument(s), found " + std::to_string(l.args.size()));
        }
        return l;
    }
    double number(const Line& l, size_t i, const std::string& what) const {
        if (i >= l.args.size()) {
            throw FormatError(path_, l.number, "missing " + what);
        }
        double v;
        if (!try_parse_double(l.args[i], v)) {
            throw FormatError(path_, l.number,
                              "expected a number for " + what + ", found '" + l.args[i] + "'");
        }
        return v;
    }
    int integer(const Line& l, size_t i, const std::string& what) const {
        const double v = number(l, i, what);
        if (v != std::floor(v) || std::fabs(v) > 1e9) {
            throw FormatError(path_, l.number,
                              "expected an integer for " + what + ", found '" + l.args[i] + "'");
        }
        return static_cast<int>(v);
    }

  private:
    std::string path_;
    std::map<std::string, std::vector<Line>> entries_;
};

void read_generation(const Settings& s) {
    if (!s.has("nnp_type")) return;
    const Line& l = s.one("nnp_type", 1);
    const std::string& v = l.args[0];
    if (v == "2" || v == "2G-HDNNP") return;
    if (v == "4" || v == "4G-HDNNP" || v == "10" || v == "Q-HDNNP") {
        throw UnsupportedError(s.path() + ":" + std::to_string(l.number) + ": " + l.keyword +
                               " " + v +
                               " is a charge-equilibration (4th-generation) HDNNP with "
                               "electrostatics; bpfast evaluates only 2nd-generation "
                               "short-range HDNNPs");
    }
    throw FormatError(s.path(), l.number,
                      "unknown " + l.keyword + " '" + v + "' (expected 2, 4, 10, 2G-HDNNP, 4G-HDNNP or "
                      "Q-HDNNP)");
}

void read_elements(const Settings& s, PotentialSpec& spec) {
    const Line& nl = s.one("number_of_elements", 1);
    const int count = s.integer(nl, 0, "number_of_elements");
    const Line& el = s.one("elements", 1);
    if (static_cast<int>(el.args.size()) != count) {
        throw FormatError(s.path(), el.number,
                          "number_of_elements is " + std::to_string(count) + " but " +
                              std::to_string(el.args.size()) + " elements are listed");
    }
    std::vector<std::pair<int, std::string>> sorted;
    for (const auto& sym : el.args) {
        const int z = atomic_number(sym);
        if (z == 0) {
            throw FormatError(s.path(), el.number, "unknown element symbol '" + sym + "'");
        }
        for (const auto& p : sorted) {
            if (p.first == z) {
                throw FormatError(s.path(), el.number, "element '" + sym + "' listed twice");
            }
        }
        sorted.emplace_back(z, sym);
    }
    std::sort(sorted.begin(), sorted.end());
    for (const auto& p : sorted) {
        spec.atomic_numbers.push_back(p.first);
        spec.elements.push_back(p.second);
    }
}

int element_of(const Settings& s, const PotentialSpec& spec, const std::string& sym, int line) {
    for (size_t e = 0; e < spec.elements.size(); ++e) {
        if (spec.elements[e] == sym) return static_cast<int>(e);
    }
    throw FormatError(s.path(), line, "element '" + sym + "' is not listed in 'elements'");
}

/// Gaussian parameters for which the function or its derivative would be undefined or
/// overflow (NaN forces): eta < 0, eta so large that eta r^2 overflows, zeta outside
/// [1, 1000] (below 1 the angular term has no derivative at collinear neighbours,
/// above 1000 the kernels' (1 + lambda cos)^zeta overflows).
void check_gaussian_parameters(const Settings& s, const Line& l, const SymmetryFunctionSpec& sf) {
    if (sf.type >= 20) return;
    auto fail = [&](const std::string& what) { throw FormatError(s.path(), l.number, what); };
    if (!(sf.eta >= 0.0)) fail("eta must be >= 0, found " + format_number(sf.eta));
    const double span = 2.0 * sf.rc + std::fabs(sf.rs);
    if (sf.eta > 0.0 && !(sf.eta * span * span <= kMaxExponent)) {
        fail("eta = " + format_number(sf.eta) + " is too large for rc = " +
             format_number(sf.rc) + ": eta (2 rc + |rs|)^2 must stay below " +
             format_number(kMaxExponent) + " (the Gaussian's derivative overflows)");
    }
    if (is_angular_sf_type(sf.type) && !(sf.zeta >= 1.0 && sf.zeta <= kMaxZeta)) {
        fail("zeta must be between 1 and " + format_number(kMaxZeta) + ", found " +
             format_number(sf.zeta));
    }
}

SymmetryFunctionSpec read_symmetry_function(const Settings& s, const PotentialSpec& spec,
                                            const Line& l) {
    SymmetryFunctionSpec sf;
    sf.line = l.number;
    if (l.args.size() < 2) {
        throw FormatError(s.path(), l.number,
                          "symfunction_short expects '<element> <type> <parameters...>'");
    }
    sf.center = element_of(s, spec, l.args[0], l.number);
    sf.type = s.integer(l, 1, "symmetry function type");
    if (!is_known_sf_type(sf.type)) {
        throw FormatError(s.path(), l.number,
                          "unknown symmetry function type " + l.args[1] +
                              " (expected 2, 3, 9, 12, 13, 20, 21, 22, 23, 24 or 25)");
    }
    const std::string t = "type " + std::to_string(sf.type);
    auto need = [&](size_t lo, size_t hi, const char* columns) {
        const size_t n = l.args.size() - 2;
        if (n < lo || n > hi) {
            throw FormatError(s.path(), l.number,
                              "symmetry function " + t + " expects parameters '" + columns +
                                  "', found " + std::to_string(n) + " value(s)");
        }
    };
    auto num = [&](size_t i, const char* what) { return s.number(l, i + 2, std::string(what)); };
    auto elem = [&](size_t i) { return element_of(s, spec, l.args[i + 2], l.number); };
    auto subtype = [&](size_t i) {
        const std::string& st = l.args[i + 2];
        const bool ok = st == "e" || ((st.size() == 2 || (st.size() == 3 && st[2] == 'a')) &&
                                      st[0] == 'p' && st[1] >= '1' && st[1] <= '4');
        if (!ok) {
            throw FormatError(s.path(), l.number,
                              "unknown compact function subtype '" + st +
                                  "' (expected p1, p2, p3, p4, p1a ... p4a or e)");
        }
        return st;
    };
    switch (sf.type) {
        case 2:
            need(4, 4, "e1 eta rs rc");
            sf.e1 = elem(0);
            sf.eta = num(1, "eta");
            sf.rs = num(2, "rs");
            sf.rc = num(3, "rc");
            break;
        case 3:
        case 9:
            need(6, 7, "e1 e2 eta lambda zeta rc [rs]");
            sf.e1 = elem(0);
            sf.e2 = elem(1);
            sf.eta = num(2, "eta");
            sf.lambda = num(3, "lambda");
            sf.zeta = num(4, "zeta");
            sf.rc = num(5, "rc");
            if (l.args.size() == 9) sf.rs = num(6, "rs");
            break;
        case 12:
            need(3, 3, "eta rs rc");
            sf.eta = num(0, "eta");
            sf.rs = num(1, "rs");
            sf.rc = num(2, "rc");
            break;
        case 13:
            need(5, 5, "eta rs lambda zeta rc");
            sf.eta = num(0, "eta");
            sf.rs = num(1, "rs");
            sf.lambda = num(2, "lambda");
            sf.zeta = num(3, "zeta");
            sf.rc = num(4, "rc");
            break;
        case 20:
            need(4, 4, "e1 rl rc subtype");
            sf.e1 = elem(0);
            sf.rl = num(1, "rl");
            sf.rc = num(2, "rc");
            sf.subtype = subtype(3);
            break;
        case 21:
        case 22:
            need(7, 7, "e1 e2 rl rc angle_left angle_right subtype");
            sf.e1 = elem(0);
            sf.e2 = elem(1);
            sf.rl = num(2, "rl");
            sf.rc = num(3, "rc");
            sf.angle_left = num(4, "angle_left");
            sf.angle_right = num(5, "angle_right");
            sf.subtype = subtype(6);
            break;
        case 23:
            need(3, 3, "rl rc subtype");
            sf.rl = num(0, "rl");
            sf.rc = num(1, "rc");
            sf.subtype = subtype(2);
            break;
        default:  // 24, 25
            need(5, 5, "rl rc angle_left angle_right subtype");
            sf.rl = num(0, "rl");
            sf.rc = num(1, "rc");
            sf.angle_left = num(2, "angle_left");
            sf.angle_right = num(3, "angle_right");
            sf.subtype = subtype(4);
            break;
    }
    if (!(sf.rc > 0.0)) {
        throw FormatError(s.path(), l.number, "cutoff radius rc must be positive");
    }
    if (sf.type >= 20) {
        if (sf.rl >= sf.rc) {
            throw FormatError(s.path(), l.number, "lower radius rl must be smaller than rc");
        }
        if (is_angular_sf_type(sf.type)) {
            const double al = sf.angle_left, ar = sf.angle_right;
            if (al >= ar) {
                throw FormatError(s.path(), l.number,
                                  "angle_left must be smaller than angle_right");
            }
            const double centre = 0.5 * (al + ar);
            if ((al < 0.0 && centre != 0.0) || (ar > 180.0 && centre != 180.0) ||
                ar - al > 360.0) {
                throw FormatError(s.path(), l.number,
                                  "an angular window reaching below 0 (above 180) degrees must "
                                  "be centred at 0 (180) and be at most 360 degrees wide");
            }
            sf.angle_left = al * kPi / 180.0;
            sf.angle_right = ar * kPi / 180.0;
        }
    }
    check_gaussian_parameters(s, l, sf);
    // Angular SFs are symmetric in their two neighbour elements: keep e1 <= e2.
    if (sf.e2 >= 0 && sf.e2 < sf.e1) std::swap(sf.e1, sf.e2);
    return sf;
}

void read_settings(const Settings& s, PotentialSpec& spec) {
    read_generation(s);
    read_elements(s, spec);
    const size_t nel = spec.elements.size();

    spec.atom_energy.assign(nel, 0.0);
    std::map<int, int> atom_energy_line;  // atomic number -> line of its atom_energy
    for (const Line& l : s.all("atom_energy")) {
        if (l.args.size() < 2) {
            throw FormatError(s.path(), l.number, "atom_energy expects '<element> <energy>'");
        }
        const int z = atomic_number(l.args[0]);
        const auto first = atom_energy_line.emplace(z, l.number);
        if (!first.second) {
            throw FormatError(s.path(), l.number,
                              "atom_energy of " + l.args[0] + " given a second time (first on "
                              "line " + std::to_string(first.first->second) + ")");
        }
        // Offsets of elements the potential does not use are irrelevant.
        for (size_t e = 0; e < nel; ++e) {
            if (spec.atomic_numbers[e] == z) spec.atom_energy[e] = s.number(l, 1, "atom energy");
        }
    }

    const Line& cl = s.one("cutoff_type", 1);
    const int ct = s.integer(cl, 0, "cutoff type");
    if (ct < 0 || ct > 8) {
        throw FormatError(s.path(), cl.number,
                          "unknown cutoff_type " + cl.args[0] + " (expected 0 ... 8)");
    }
    spec.cutoff_type = static_cast<CutoffType>(ct);
    spec.cutoff_alpha = cl.args.size() > 1 ? s.number(cl, 1, "cutoff alpha") : 0.0;
    if (!(spec.cutoff_alpha >= 0.0 && spec.cutoff_alpha < 1.0)) {
        throw FormatError(s.path(), cl.number, "cutoff alpha must satisfy 0 <= alpha < 1");
    }

    const bool scale = s.has("scale_symmetry_functions");
    const bool center = s.has("center_symmetry_functions");
    const bool sigma = s.has("scale_symmetry_functions_sigma");
    if (scale && !center) {
        spec.scaling_mode = ScalingMode::Scale;
    } else if (center && !scale) {
        spec.scaling_mode = ScalingMode::Center;
    } else if (scale && center) {
        spec.scaling_mode = ScalingMode::ScaleCenter;
    } else if (sigma) {
        spec.scaling_mode = ScalingMode::Sigma;
    } else {
        spec.scaling_mode = ScalingMode::None;
    }
    if (s.has("scale_min_short")) spec.scale_min = s.number(s.one("scale_min_short", 1), 0, "scale_min_short");
    if (s.has("scale_max_short")) spec.scale_max = s.number(s.one("scale_max_short", 1), 0, "scale_max_short");

    const int nnorm = int(s.has("mean_energy")) + int(s.has("conv_energy")) + int(s.has("conv_length"));
    if (nnorm != 0 && nnorm != 3) {
        throw FormatError(s.path(), 0,
                          "mean_energy, conv_energy and conv_length must be given together");
    }
    if (nnorm == 3) {
        spec.normalized = true;
        spec.mean_energy = s.number(s.one("mean_energy", 1), 0, "mean_energy");
        spec.conv_energy = s.number(s.one("conv_energy", 1), 0, "conv_energy");
        spec.conv_length = s.number(s.one("conv_length", 1), 0, "conv_length");
        for (const char* key : {"conv_energy", "conv_length"}) {
            const Line& cl = s.one(key);
            if (!(s.number(cl, 0, key) > 0.0)) {
                throw FormatError(s.path(), cl.number,
                                  std::string(key) + " must be positive, found '" +
                                      cl.args[0] + "'");
            }
        }
    }
    spec.normalize_nodes = s.has("normalize_nodes");

    // Symmetry functions, sorted per element into n2p2's order.
    spec.symmetry_functions.assign(nel, {});
    for (const Line& l : s.all("symfunction_short")) {
        SymmetryFunctionSpec sf = read_symmetry_function(s, spec, l);
        spec.symmetry_functions[sf.center].push_back(sf);
    }
    for (size_t e = 0; e < nel; ++e) {
        if (spec.symmetry_functions[e].empty()) {
            throw FormatError(s.path(), 0,
                              "element " + spec.elements[e] + " has no symfunction_short lines");
        }
        std::sort(spec.symmetry_functions[e].begin(), spec.symmetry_functions[e].end(), sf_less);
    }

    // Network architecture.
    for (const char* unsupported : {"element_hidden_layers_short", "element_activation_short"}) {
        if (s.has(unsupported)) {
            throw UnsupportedError(s.path() + ":" + std::to_string(s.all(unsupported).front().number) +
                                   ": per-element keyword '" + unsupported +
                                   "' is not supported by bpfast");
        }
    }
    const Line& hl = s.one("global_hidden_layers_short", 1);
    const int hidden = s.integer(hl, 0, "number of hidden layers");
    if (hidden < 0 || hidden > 100) {
        throw FormatError(s.path(), hl.number, "number of hidden layers must be 0 ... 100");
    }
    const Line& nodes = s.one("global_nodes_short", static_cast<size_t>(hidden));
    if (nodes.args.size() != static_cast<size_t>(hidden)) {
        throw FormatError(s.path(), nodes.number,
                          "global_nodes_short expects " + std::to_string(hidden) +
                              " node counts (global_hidden_layers_short), found " +
                              std::to_string(nodes.args.size()));
    }
    std::vector<int> global_nodes;
    for (int k = 0; k < hidden; ++k) {
        const int v = s.integer(nodes, k, "number of nodes");
        if (v < 1) throw FormatError(s.path(), nodes.number, "number of nodes must be positive");
        global_nodes.push_back(v);
    }
    const Line& al = s.one("global_activation_short", static_cast<size_t>(hidden + 1));
    if (al.args.size() != static_cast<size_t>(hidden + 1)) {
        throw FormatError(s.path(), al.number,
                          "global_activation_short expects " + std::to_string(hidden + 1) +
                              " letters (one per hidden layer and one for the output)");
    }
    std::vector<Activation> activations;
    for (const auto& letter : al.args) {
        try {
            activations.push_back(activation_from_letter(letter));
        } catch (const InputError& err) {
            throw FormatError(s.path(), al.number, err.what());
        }
    }
    spec.networks.assign(nel, {});
    for (size_t e = 0; e < nel; ++e) {
        NetworkSpec& net = spec.networks[e];
        net.sizes.push_back(static_cast<int>(spec.symmetry_functions[e].size()));
        for (int v : global_nodes) net.sizes.push_back(v);
        net.sizes.push_back(1);
        net.activations = activations;
    }
    // element_nodes_short <El> n1 ... nh: as n2p2 applies it, the last hidden layer keeps
    // the global size (see docs); weights files written by n2p2 follow that layout.
    for (const Line& l : s.all("element_nodes_short")) {
        if (l.args.size() != static_cast<size_t>(hidden + 1)) {
            throw FormatError(s.path(), l.number,
                              "element_nodes_short expects an element and " +
                                  std::to_string(hidden) + " node counts");
        }
        const int e = element_of(s, spec, l.args[0], l.number);
        for (int k = 0; k < hidden; ++k) {
            const int v = s.integer(l, k + 1, "number of nodes");
            if (v < 1) throw FormatError(s.path(), l.number, "number of nodes must be positive");
            if (k + 1 < hidden) spec.networks[e].sizes[k + 1] = v;
        }
    }
}

/// After the last function's row only RuNNer's 2-column energy range line may follow.
void check_no_surplus_rows(const std::string& path, const std::vector<std::string>& lines,
                           size_t k, const PotentialSpec& spec) {
    bool energy_range_seen = false;
    for (; k < lines.size(); ++k) {
        const std::string& text = lines[k];
        if (!text.empty() && text[0] == '#') continue;
        const auto cols = split(text);
        if (cols.empty()) continue;
        double lo, hi;
        const bool energy_range = cols.size() == 2 && try_parse_double(cols[0], lo) &&
                                  try_parse_double(cols[1], hi);
        if (energy_range && !energy_range_seen) {
            energy_range_seen = true;
            continue;
        }
        std::string counts;
        for (size_t e = 0; e < spec.elements.size(); ++e) {
            counts += (counts.empty() ? "" : ", ") +
                      std::to_string(spec.symmetry_functions[e].size()) + " for " +
                      spec.elements[e];
        }
        throw FormatError(path, static_cast<int>(k) + 1,
                          "surplus row: input.nn defines " + counts +
                              " symmetry functions, and all their rows came before this line "
                              "(only RuNNer's 2-column energy range may follow them)");
    }
}

void read_scaling(const std::string& path, PotentialSpec& spec) {
    const size_t nel = spec.elements.size();
    spec.statistics.assign(nel, {});
    if (!file_exists(path)) {
        if (spec.scaling_mode == ScalingMode::None) {
            // No scaling and no statistics: nothing can extrapolate.
            for (size_t e = 0; e < nel; ++e) {
                spec.statistics[e].assign(spec.symmetry_functions[e].size(),
                                          {-HUGE_VAL, HUGE_VAL, 0.0, 0.0});
            }
            return;
        }
        throw FileNotFoundError(path);
    }
    const auto lines = read_lines(path);
    spec.files.push_back(path);
    size_t k = 0;
    for (size_t e = 0; e < nel; ++e) {
        const size_t nsf = spec.symmetry_functions[e].size();
        for (size_t sfi = 0; sfi < nsf; ++sfi) {
            std::vector<std::string> cols;
            while (k < lines.size()) {
                const std::string& text = lines[k++];
                if (!text.empty() && text[0] == '#') continue;
                cols = split(text);
                if (!cols.empty()) break;
            }
            if (cols.empty()) {
                throw FormatError(path, static_cast<int>(k),
                                  "file ends early: expected " + std::to_string(nsf) +
                                      " rows for element " + spec.elements[e] + ", found " +
                                      std::to_string(sfi));
            }
            const int line = static_cast<int>(k);
            if (cols.size() < 5) {
                throw FormatError(path, line,
                                  "expected at least 5 columns (element, function, min, max, "
                                  "mean[, sigma]), found " + std::to_string(cols.size()));
            }
            double v[6] = {0, 0, 0, 0, 0, 0};
            const size_t ncol = std::min<size_t>(cols.size(), 6);
            for (size_t c = 0; c < ncol; ++c) {
                if (!try_parse_double(cols[c], v[c])) {
                    throw FormatError(path, line,
                                      "expected a number in column " + std::to_string(c + 1) +
                                          ", found '" + cols[c] + "'");
                }
            }
            if (v[0] != double(e + 1) || v[1] != double(sfi + 1)) {
                throw FormatError(path, line,
                                  "expected the row of element " + std::to_string(e + 1) +
                                      " (" + spec.elements[e] + ") function " +
                                      std::to_string(sfi + 1) + ", found element " + cols[0] +
                                      " function " + cols[1]);
            }
            if (v[2] > v[3]) {
                throw FormatError(path, line, "minimum is larger than maximum");
            }
            if (spec.scaling_mode == ScalingMode::Sigma && ncol < 6) {
                throw FormatError(path, line, "sigma scaling needs column 6 (sigma)");
            }
            spec.statistics[e].push_back({v[2], v[3], v[4], v[5]});
        }
    }
    check_no_surplus_rows(path, lines, k, spec);
}

void read_weights(const std::string& directory, PotentialSpec& spec) {
    for (size_t e = 0; e < spec.elements.size(); ++e) {
        char name[32];
        std::snprintf(name, sizeof(name), "weights.%03d.data", spec.atomic_numbers[e]);
        const std::string path = join_path(directory, name);
        const auto lines = read_lines(path);
        spec.files.push_back(path);
        std::vector<double>& p = spec.networks[e].parameters;
        for (size_t k = 0; k < lines.size(); ++k) {
            const std::string& text = lines[k];
            const size_t first = text.find_first_not_of(" \t");
            if (first == std::string::npos || text[first] == '#') continue;
            const auto cols = split(text);
            double v;
            if (!try_parse_double(cols[0], v)) {
                throw FormatError(path, static_cast<int>(k) + 1,
                                  "expected a weight in column 1, found '" + cols[0] + "'");
            }
            p.push_back(v);
        }
        std::vector<int>& sizes = spec.networks[e].sizes;
        auto describe = [](const std::vector<int>& sz) {
            std::string d;
            for (int v : sz) d += (d.empty() ? "" : "-") + std::to_string(v);
            return d;
        };
        const size_t expected = parameter_count(sizes);
        if (p.size() != expected) {
            throw FormatError(path, 0,
                              "expected " + std::to_string(expected) +
                                  " weights and biases for the architecture " +
                                  describe(sizes) + " of " + spec.elements[e] + ", found " +
                                  std::to_string(p.size()));
        }
    }
}

}  // namespace

PotentialSpec read_n2p2_potential(const std::string& directory) {
    PotentialSpec spec;
    spec.directory = directory;
    const std::string input = join_path(directory, "input.nn");
    if (!file_exists(input)) throw FileNotFoundError(input);
    Settings settings(input);
    spec.files.push_back(input);
    read_settings(settings, spec);
    read_scaling(join_path(directory, "scaling.data"), spec);
    read_weights(directory, spec);
    return spec;
}

}  // namespace bpfast
