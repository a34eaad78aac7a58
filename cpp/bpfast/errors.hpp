// Exceptions thrown by the bpfast core. The Python bindings map each class to
// one Python exception type (see cpp/bindings/module.cpp).
#pragma once

#include <stdexcept>
#include <string>

namespace bpfast {

/// Base class of every error the core reports.
class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Invalid argument values: shapes, NaN coordinates, singular cells (Python: ValueError).
class InputError : public Error {
  public:
    using Error::Error;
};

/// A structure contains an element the potential does not describe (Python: KeyError).
class UnknownElementError : public Error {
  public:
    using Error::Error;
};

/// A required file does not exist or cannot be opened (Python: FileNotFoundError).
class FileNotFoundError : public Error {
  public:
    explicit FileNotFoundError(const std::string& path)
        : Error("file not found: " + path), path_(path) {}
    const std::string& path() const noexcept { return path_; }

  private:
    std::string path_;
};

/// A potential file is malformed (Python: bpfast.FormatError, a ValueError).
/// `line` is 1-based, or 0 when the problem concerns the file as a whole.
class FormatError : public Error {
  public:
    FormatError(const std::string& file, int line, const std::string& detail)
        : Error(file + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " + detail),
          file_(file), line_(line), detail_(detail) {}
    const std::string& file() const noexcept { return file_; }
    int line() const noexcept { return line_; }
    const std::string& detail() const noexcept { return detail_; }

  private:
    std::string file_;
    int line_;
    std::string detail_;
};

/// The potential uses a feature bpfast does not implement, e.g. 4G-HDNNPs
/// (Python: bpfast.UnsupportedPotentialError, a ValueError).
class UnsupportedError : public Error {
  public:
    using Error::Error;
};

}  // namespace bpfast
