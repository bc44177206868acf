// A character-level language model: Embedding + LSTM (or GRU) + Linear, trained with truncated BPTT
// on a text file, saved, resumed bit-identically, and sampled.
//   char_lm [--text FILE] [--cell lstm|gru] [--epochs N] [--batch B] [--bptt T] [--embed E] [--hidden H]
//           [--lr LR] [--clip C] [--seed S] [--save PREFIX] [--resume PREFIX] [--sample N]
//           [--temperature X] [--sample-seed S] [--prime TEXT] [--max-loss L] [--check-resume]
// --epochs is the total: after --resume, training continues from the saved epoch count up to it (the
// model's sizes, batch, window and optimizer come from the saved files; --cell, --embed... are ignored).
// Without --text it trains on examples/data/char_lm.txt (a short text shipped with the examples).
// A "character" is a byte of the file. The text is cut into B streams read in parallel; each epoch
// walks them in windows of T steps, carrying the recurrent state from window to window but detached
// (nn::detach_state), so each backward covers T steps. --save PREFIX writes PREFIX.model.safetensors
// (nn::save), PREFIX.optim.safetensors (optim::save) and PREFIX.meta (sizes, epochs done, the
// vocabulary); --resume PREFIX rebuilds the model from them and continues to --epochs, giving the
// same losses as a run that never stopped. --check-resume trains --epochs straight, then again with a
// save after half of them and a resume into fresh objects, and exits 1 unless every epoch's loss is
// bit-identical. Exit status: 0; 1 if --max-loss is not reached or --check-resume mismatches; 2 on
// bad arguments or unreadable files.
#include <fmt/core.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nn/nn.h>

#include "../demo/common.h"

#ifndef AG_CHAR_LM_DEFAULT_TEXT
#define AG_CHAR_LM_DEFAULT_TEXT "char_lm.txt"
#endif

namespace {

using namespace ag;

struct Args {
  std::string text, cell = "lstm", save, resume, prime;
  std::int64_t epochs = 30, batch = 16, bptt = 32, embed = 32, hidden = 128, sample = 0, seed = 1, sample_seed = 1;
  double lr = 3e-3, clip = 1.0, temperature = 0.8, max_loss = -1;
  bool check_resume = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail("{} needs a value", s);
      return argv[++i];
    };
    auto num = [&]() {
      const std::string v = value();
      std::size_t used = 0;
      double d = 0;
      try {
        d = std::stod(v, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != v.size() || !std::isfinite(d)) fail("{}: expected a number, got '{}'", s, v);
      return d;
    };
    auto count = [&]() { return static_cast<std::int64_t>(num()); };
    if (s == "--text") a.text = value();
    else if (s == "--cell") a.cell = value();
    else if (s == "--save") a.save = value();
    else if (s == "--resume") a.resume = value();
    else if (s == "--prime") a.prime = value();
    else if (s == "--epochs") a.epochs = count();
    else if (s == "--batch") a.batch = count();
    else if (s == "--bptt") a.bptt = count();
    else if (s == "--embed") a.embed = count();
    else if (s == "--hidden") a.hidden = count();
    else if (s == "--sample") a.sample = count();
    else if (s == "--seed") a.seed = count();
    else if (s == "--sample-seed") a.sample_seed = count();
    else if (s == "--lr") a.lr = num();
    else if (s == "--clip") a.clip = num();
    else if (s == "--temperature") a.temperature = num();
    else if (s == "--max-loss") a.max_loss = num();
    else if (s == "--check-resume") a.check_resume = true;
    else fail("unknown argument '{}'", s);
  }
  if (a.cell != "lstm" && a.cell != "gru") fail("--cell must be lstm or gru, got '{}'", a.cell);
  if (a.epochs < 0 || a.batch < 1 || a.bptt < 1 || a.embed < 1 || a.hidden < 1)
    fail("--batch, --bptt, --embed and --hidden must be positive, --epochs >= 0");
  if (a.sample < 0) fail("--sample must be >= 0, got {}", a.sample);
  if (!(a.temperature > 0)) fail("--temperature must be positive, got {}", a.temperature);
  if (a.check_resume && a.epochs < 2) fail("--check-resume needs --epochs >= 2");
  if (a.check_resume && !a.resume.empty()) fail("--check-resume and --resume exclude each other");
  return a;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open '{}'", path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The sizes a model is built from; saved in PREFIX.meta so --resume rebuilds the same model.
struct Config {
  std::string cell = "lstm", vocab;  // vocab: the distinct bytes in increasing order
  std::int64_t embed = 0, hidden = 0, batch = 0, bptt = 0;
  double lr = 0, clip = 0;
};

// Embedding -> LSTM or GRU -> Linear over the vocabulary. The state is (h, c) for an LSTM; c stays
// undefined for a GRU.
struct CharLM : nn::Module {
  using State = std::tuple<Tensor, Tensor>;
  explicit CharLM(const Config& c) : Module("CharLM"), gru_cell(c.cell == "gru") {
    const auto v = static_cast<std::int64_t>(c.vocab.size());
    embedding = register_module("embedding", nn::Embedding(v, c.embed));
    if (gru_cell) gru = register_module("rnn", nn::GRU(c.embed, c.hidden));
    else lstm = register_module("rnn", nn::LSTM(c.embed, c.hidden));
    head = register_module("head", nn::Linear(c.hidden, v));
  }
  /// tokens [T, B] -> logits [T, B, V] and the state after the last step.
  std::tuple<Tensor, State> forward(const Tensor& tokens, const State& state) {
    const Tensor x = embedding(tokens);
    if (gru_cell) {
      auto [out, h] = gru(x, std::get<0>(state));
      return {head(out), State{h, Tensor()}};
    }
    auto [out, hc] = lstm(x, state);
    return {head(out), hc};
  }
  bool gru_cell;
  nn::Embedding embedding{nullptr};
  nn::LSTM lstm{nullptr};
  nn::GRU gru{nullptr};
  nn::Linear head{nullptr};
};

/// The text as B parallel streams: data [n, B] with data[t][b] = text[b n + t].
Tensor make_streams(const std::string& text, const std::string& vocab, std::int64_t batch) {
  std::vector<std::int64_t> index(256, -1);
  for (std::size_t i = 0; i < vocab.size(); ++i)
    index[static_cast<unsigned char>(vocab[i])] = static_cast<std::int64_t>(i);
  const auto n = static_cast<std::int64_t>(text.size()) / batch;
  std::vector<std::int64_t> data(static_cast<std::size_t>(n * batch));
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t t = 0; t < n; ++t) {
      const std::int64_t id = index[static_cast<unsigned char>(text[static_cast<std::size_t>(b * n + t)])];
      if (id < 0)
        fail(
            "the text has a byte outside the model's vocabulary (0x{:02x}): resume with the text the model was trained "
            "on",
            static_cast<unsigned char>(text[static_cast<std::size_t>(b * n + t)]));
      data[static_cast<std::size_t>(t * batch + b)] = id;
    }
  return tensor(data, {n, batch});
}

/// A model, its optimizer and the number of epochs done: everything a run carries between epochs
/// (the recurrent state restarts from zeros at each epoch, so it is not part of it).
struct Run {
  Config config;
  std::shared_ptr<CharLM> model;
  std::unique_ptr<optim::Adam> opt;
  std::int64_t epochs_done = 0;

  explicit Run(const Config& c) : config(c) {
    model = std::make_shared<CharLM>(c);
    opt = std::make_unique<optim::Adam>(model->parameters(), optim::AdamOptions(c.lr));
  }

  /// One epoch of truncated BPTT over `streams` [n, B]; returns the mean loss over its windows.
  double epoch(const Tensor& streams, bool show) {
    const std::int64_t n = streams.size(0), B = streams.size(1), V = static_cast<std::int64_t>(config.vocab.size());
    const std::int64_t windows = (n - 2) / config.bptt + 1;
    demo::ProgressBar bar(fmt::format("epoch {}", epochs_done + 1), windows);
    CharLM::State state;
    double total = 0;
    std::int64_t done = 0;
    for (std::int64_t t0 = 0; t0 + 1 < n; t0 += config.bptt) {
      const std::int64_t len = std::min(config.bptt, n - 1 - t0);
      const Tensor input = narrow(streams, 0, t0, len), target = narrow(streams, 0, t0 + 1, len);
      opt->zero_grad();
      auto [logits, next] = model->forward(input, state);
      Tensor loss = cross_entropy(reshape(logits, {len * B, V}), reshape(target, {len * B}));
      loss.backward();
      nn::utils::clip_grad_norm_(model->parameters(), config.clip);
      opt->step();
      state = nn::detach_state(next);  // truncated BPTT: the values go on, the graph stops here
      total += loss.item<double>();
      ++done;
      if (show && demo::stdout_is_tty()) bar.update(done, total / static_cast<double>(done));
    }
    ++epochs_done;
    const double mean = total / static_cast<double>(done);
    if (show) bar.finish(done, mean);
    return mean;
  }

  void save(const std::string& prefix) const {
    nn::save(*model, prefix + ".model.safetensors");
    optim::save(*opt, prefix + ".optim.safetensors");
    std::ofstream meta(prefix + ".meta");
    meta << "cell " << config.cell << "\nembed " << config.embed << "\nhidden " << config.hidden << "\nbatch "
         << config.batch << "\nbptt " << config.bptt << "\nlr " << fmt::format("{:.17g}", config.lr) << "\nclip "
         << fmt::format("{:.17g}", config.clip) << "\nepochs_done " << epochs_done << "\nvocab_hex ";
    for (char ch : config.vocab) meta << fmt::format("{:02x}", static_cast<unsigned char>(ch));
    meta << "\n";
    if (!meta) fail("cannot write '{}.meta'", prefix);
  }

  static std::unique_ptr<Run> load(const std::string& prefix) {
    std::ifstream meta(prefix + ".meta");
    if (!meta) fail("cannot open '{}.meta' (written by --save)", prefix);
    std::map<std::string, std::string> kv;
    for (std::string key, value; meta >> key >> value;) kv[key] = value;
    auto get = [&](const std::string& key) {
      if (!kv.count(key)) fail("'{}.meta' has no '{}'", prefix, key);
      return kv[key];
    };
    Config c;
    c.cell = get("cell");
    c.embed = std::stoll(get("embed"));
    c.hidden = std::stoll(get("hidden"));
    c.batch = std::stoll(get("batch"));
    c.bptt = std::stoll(get("bptt"));
    c.lr = std::stod(get("lr"));
    c.clip = std::stod(get("clip"));
    const std::string hex = get("vocab_hex");
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
      c.vocab += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    auto run = std::make_unique<Run>(c);
    nn::load(*run->model, prefix + ".model.safetensors");
    optim::load(*run->opt, prefix + ".optim.safetensors");
    run->epochs_done = std::stoll(get("epochs_done"));
    return run;
  }

  /// `count` bytes drawn one at a time from softmax(logits / temperature), after feeding `prime`.
  std::string sample(const std::string& prime, std::int64_t count, double temperature, std::uint64_t seed) {
    NoGradGuard no_grad;
    std::mt19937_64 rng(seed);
    std::vector<std::int64_t> index(256, -1);
    for (std::size_t i = 0; i < config.vocab.size(); ++i)
      index[static_cast<unsigned char>(config.vocab[i])] = static_cast<std::int64_t>(i);
    CharLM::State state;
    Tensor logits;
    auto feed = [&](std::int64_t id) {
      auto [out, next] = model->forward(tensor(std::vector<std::int64_t>{id}, {1, 1}), state);
      state = next;
      logits = reshape(out, {-1});
    };
    for (char ch : prime) {
      const std::int64_t id = index[static_cast<unsigned char>(ch)];
      if (id < 0) fail("--prime: '{}' is not in the vocabulary", ch);
      feed(id);
    }
    std::string out;
    for (std::int64_t k = 0; k < count; ++k) {
      const auto p = softmax(logits.to(kFloat64) / temperature, 0).to_vector<double>();
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // uniform in [0, 1), the same everywhere
      std::size_t pick = p.size() - 1;
      double acc = 0;
      for (std::size_t i = 0; i < p.size(); ++i)
        if ((acc += p[i]) > u) {
          pick = i;
          break;
        }
      out += config.vocab[pick];
      feed(static_cast<std::int64_t>(pick));
    }
    return out;
  }
};

std::string printable(const std::string& s) {
  std::string out;
  for (char ch : s)
    if (ch == '\n' || ch == '\t' || (static_cast<unsigned char>(ch) >= 32 && ch != 127)) out += ch;
    else out += '?';
  return out;
}

int check_resume(const Config& config, const Tensor& streams, std::int64_t epochs, std::uint64_t seed) {
  const std::string prefix = fmt::format("char_lm_check_resume_{}", static_cast<long long>(::getpid()));
  const std::int64_t first = epochs / 2;
  std::vector<double> straight, resumed;
  manual_seed(seed);
  {
    Run run(config);
    fmt::print("straight run, {} epochs:\n", epochs);
    for (std::int64_t e = 0; e < epochs; ++e) straight.push_back(run.epoch(streams, true));
  }
  manual_seed(seed);
  {
    Run run(config);
    fmt::print("run of {} epochs, saved to {}.*:\n", first, prefix);
    for (std::int64_t e = 0; e < first; ++e) resumed.push_back(run.epoch(streams, true));
    run.save(prefix);
  }
  manual_seed(seed + 1000);  // the resumed model's fresh initialisation differs; load must overwrite all of it
  {
    auto run = Run::load(prefix);
    fmt::print("resumed from {}.* into a new model and optimizer after epoch {}:\n", prefix, run->epochs_done);
    for (std::int64_t e = first; e < epochs; ++e) resumed.push_back(run->epoch(streams, true));
  }
  for (const char* ext : {".model.safetensors", ".optim.safetensors", ".meta"}) std::remove((prefix + ext).c_str());
  bool same = true;
  for (std::int64_t e = 0; e < epochs; ++e) {
    const auto i = static_cast<std::size_t>(e);
    const bool eq = straight[i] == resumed[i];
    same = same && eq;
    fmt::print("  epoch {:>3}  straight {:.17g}  save/resume {:.17g}  {}\n", e + 1, straight[i], resumed[i],
               eq ? "same" : "DIFFERENT");
  }
  fmt::print("{}\n", same ? "check-resume: OK, bit-identical" : "check-resume: FAILED, the losses differ");
  return same ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  std::string text, source;
  try {
    args = parse(argc, argv);
    if (args.text.empty()) {
      source =
          std::string(AG_CHAR_LM_DEFAULT_TEXT) + " (the small text shipped in examples/data/; --text FILE for yours)";
      text = read_file(AG_CHAR_LM_DEFAULT_TEXT);
    } else {
      source = args.text;
      text = read_file(args.text);
    }
  } catch (const Error& e) {
    fmt::print(stderr, "char_lm: {}\n", e.what());
    fmt::print(stderr,
               "usage: char_lm [--text FILE] [--cell lstm|gru] [--epochs N] [--batch B] [--bptt T] [--embed E]\n"
               "               [--hidden H] [--lr LR] [--clip C] [--seed S] [--save PREFIX] [--resume PREFIX]\n"
               "               [--sample N] [--temperature X] [--sample-seed S] [--prime TEXT] [--max-loss L]\n"
               "               [--check-resume]\n");
    return 2;
  }
  try {
    std::unique_ptr<Run> run;
    Config config;
    if (!args.resume.empty()) {
      run = Run::load(args.resume);
      config = run->config;
    } else {
      config.cell = args.cell;
      config.embed = args.embed;
      config.hidden = args.hidden;
      config.batch = args.batch;
      config.bptt = args.bptt;
      config.lr = args.lr;
      config.clip = args.clip;
      bool seen[256] = {};
      for (char ch : text) seen[static_cast<unsigned char>(ch)] = true;
      for (int b = 0; b < 256; ++b)
        if (seen[b]) config.vocab += static_cast<char>(b);
    }
    if (static_cast<std::int64_t>(text.size()) < 2 * config.batch)
      fail("the text has {} bytes: too short for {} streams", text.size(), config.batch);
    const Tensor streams = make_streams(text, config.vocab, config.batch);
    fmt::print("text: {}, {} bytes, {} distinct\n", source, text.size(), config.vocab.size());
    fmt::print(
        "model: Embedding({}, {}) -> {}({}, {}) -> Linear({}, {}); Adam lr {}, clip {}; {} streams of {} "
        "steps, truncated BPTT windows of {}\n",
        config.vocab.size(), config.embed, config.cell == "gru" ? "GRU" : "LSTM", config.embed, config.hidden,
        config.hidden, config.vocab.size(), config.lr, config.clip, config.batch, streams.size(0), config.bptt);
    if (args.check_resume) return check_resume(config, streams, args.epochs, static_cast<std::uint64_t>(args.seed));

    if (!run) {
      manual_seed(static_cast<std::uint64_t>(args.seed));
      run = std::make_unique<Run>(config);
    } else {
      fmt::print("resumed from {}.* after epoch {}\n", args.resume, run->epochs_done);
    }
    double loss = NAN;
    while (run->epochs_done < args.epochs) {
      loss = run->epoch(streams, true);  // the progress bar's last line gives the epoch's mean loss
    }
    if (std::isfinite(loss)) fmt::print("final loss after epoch {}: {:.17g}\n", run->epochs_done, loss);
    if (!args.save.empty()) {
      run->save(args.save);
      fmt::print("saved {0}.model.safetensors, {0}.optim.safetensors, {0}.meta\n", args.save);
    }
    if (args.sample > 0) {
      const std::string prime = args.prime.empty() ? std::string(1, text.front()) : args.prime;
      fmt::print("sample ({} bytes, temperature {}, seed {}):\n{}{}\n", args.sample, args.temperature, args.sample_seed,
                 printable(prime),
                 printable(
                     run->sample(prime, args.sample, args.temperature, static_cast<std::uint64_t>(args.sample_seed))));
    }
    if (args.max_loss >= 0) {
      const bool ok = std::isfinite(loss) && loss <= args.max_loss;
      fmt::print("{}: last epoch's loss {:.6f}, limit {}\n", ok ? "OK" : "FAILED", loss, args.max_loss);
      return ok ? 0 : 1;
    }
  } catch (const Error& e) {
    fmt::print(stderr, "char_lm: {}\n", e.what());
    return 2;
  }
  return 0;
}
