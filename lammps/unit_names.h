// Units by name for pair style bpfast: the names and factors of python/bpfast/units.py
// (LENGTH_UNITS, ENERGY_UNITS), and the physical units of each LAMMPS `units` style.
//
// The plugin cannot import Python, so the table lives here a second time;
// tests/test_lammps.py checks through the plugin that every name of bpfast.units gives
// bpfast.units' factor and that this table has no other name. Values: CODATA 2018 (Bohr
// radius 0.529177210903 Å, Hartree 27.211386245988 eV, Rydberg = Hartree / 2, Avogadro
// 6.02214076e23 / mol, elementary charge 1.602176634e-19 C, thermochemical calorie 4.184 J).
// Names match ignoring case, whitespace, '_', '-' and '/', as in bpfast.units.
#pragma once

#include <string>
#include <string_view>

namespace bpfast_lammps {

struct NamedUnit {
    const char* name;
    double value;  // Å per unit (length) or eV per unit (energy)
};

inline constexpr double kBohrInAngstrom = 0.529177210903;
inline constexpr double kHartreeInEv = 27.211386245988;
inline constexpr double kElementaryCharge = 1.602176634e-19;  // C, = J per eV
inline constexpr double kKjPerMolInEv = 1.0e3 / (6.02214076e23 * kElementaryCharge);

// Å per length unit.
inline constexpr NamedUnit kLengthUnits[] = {
    {"angstrom", 1.0},
    {"ang", 1.0},
    {"a", 1.0},
    {"bohr", kBohrInAngstrom},
    {"au", kBohrInAngstrom},
    {"a0", kBohrInAngstrom},
    {"nm", 10.0},
    {"nanometer", 10.0},
    {"pm", 0.01},
    {"picometer", 0.01},
};

// eV per energy unit.
inline constexpr NamedUnit kEnergyUnits[] = {
    {"ev", 1.0},
    {"mev", 1.0e-3},
    {"hartree", kHartreeInEv},
    {"ha", kHartreeInEv},
    {"au", kHartreeInEv},
    {"rydberg", 13.605693122994},
    {"ry", 13.605693122994},
    {"kcal/mol", 4.184 * kKjPerMolInEv},
    {"kj/mol", kKjPerMolInEv},
};

// The length and energy unit of a LAMMPS `units` style, in Å and eV.
struct LammpsUnitStyle {
    const char* style;
    double length;            // Å per LAMMPS length unit
    double energy;            // eV per LAMMPS energy unit
    const char* description;  // for log messages
};

// Every style of LAMMPS' `units` command with physical units; `lj` has none.
inline constexpr LammpsUnitStyle kLammpsUnitStyles[] = {
    {"metal", 1.0, 1.0, "Angstrom, eV"},
    {"real", 1.0, 4.184 * kKjPerMolInEv, "Angstrom, kcal/mol"},
    {"electron", kBohrInAngstrom, kHartreeInEv, "Bohr, Hartree"},
    {"si", 1.0e10, 1.0 / kElementaryCharge, "m, J"},
    {"cgs", 1.0e8, 1.0e-7 / kElementaryCharge, "cm, erg"},
    {"micro", 1.0e4, 1.0e-15 / kElementaryCharge, "micrometer, picogram-micrometer^2/us^2"},
    {"nano", 10.0, 1.0e-21 / kElementaryCharge, "nm, attogram-nm^2/ns^2"},
};

// Lower case, without whitespace, '_', '-' and '/': the normalisation of bpfast.units for
// ASCII names (bpfast.units also reads "Å" and "ångström" as angstrom, but LAMMPS' input
// parser replaces non-ASCII characters before a pair style sees them). Independent of the
// C locale.
inline std::string normalise_unit_name(std::string_view name) {
    std::string key;
    for (const char c : name) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' ||
            c == '_' || c == '-' || c == '/') {
            continue;
        }
        key += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return key;
}

// `text` with every byte outside printable ASCII written as \xNN, for messages that must be
// valid UTF-8 (LAMMPS' Python module decodes them).
inline std::string printable(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7f) {
            out += c;
        } else {
            out += "\\x";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xf];
        }
    }
    return out;
}

// The factor of `name` in `table` (Å or eV per unit), or 0 when the table lacks it.
template <size_t N>
double find_unit(const NamedUnit (&table)[N], std::string_view name) {
    const std::string key = normalise_unit_name(name);
    for (const NamedUnit& unit : table) {
        if (normalise_unit_name(unit.name) == key) return unit.value;
    }
    return 0.0;
}

// "angstrom, ang, ...": the names of `table`, for error messages.
template <size_t N>
std::string unit_names(const NamedUnit (&table)[N]) {
    std::string names;
    for (const NamedUnit& unit : table) {
        names += (names.empty() ? "" : ", ") + std::string(unit.name);
    }
    return names;
}

// "metal, real, ...": the LAMMPS unit styles of kLammpsUnitStyles, for error messages.
inline std::string lammps_unit_style_names() {
    std::string names;
    for (const LammpsUnitStyle& entry : kLammpsUnitStyles) {
        names += (names.empty() ? "" : ", ") + std::string(entry.style);
    }
    return names;
}

// The LAMMPS unit style `style`, or nullptr (`lj`, or a style this table does not know).
inline const LammpsUnitStyle* find_lammps_unit_style(std::string_view style) {
    for (const LammpsUnitStyle& entry : kLammpsUnitStyles) {
        if (style == entry.style) return &entry;
    }
    return nullptr;
}

}  // namespace bpfast_lammps
