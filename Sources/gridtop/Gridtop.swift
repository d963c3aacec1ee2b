import ArgumentParser
import Foundation

@main
struct Gridtop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gridtop",
        abstract: "A terminal dashboard for electricity-grid control rooms on consortium blockchains.",
        discussion: """
            Watches the energy flowing stage by stage (generation → transmission → substation → feeder → \
            transformer → consumers) as recorded on chain, the health of the chain's nodes and consensus, \
            and raises alarms — above all suspected electricity theft.
            """,
        version: "0.1.0",
        subcommands: [DemoCommand.self, WatchCommand.self, AlertsCommand.self, AlarmsCommand.self, SimCommand.self, ConfigCommand.self],
        defaultSubcommand: DemoCommand.self
    )

    /// As ArgumentParser's, except that a first word that is no command (`gridtop foo`) lists the
    /// commands instead of being taken as an argument of the default command (`demo`).
    static func main() async {
        let args = Array(CommandLine.arguments.dropFirst())
        if let first = args.first, !first.hasPrefix("-") {
            let names = configuration.subcommands.map { $0._commandName } + ["help"]
            if !names.contains(first) {
                let list = configuration.subcommands.map { "  \($0._commandName.padding(toLength: 8, withPad: " ", startingAt: 0)) \($0.configuration.abstract)" }
                FileHandle.standardError.write(Data((["gridtop: '\(first)' is not a command. Commands:"] + list
                    + ["See 'gridtop help <command>'."]).joined(separator: "\n").appending("\n").utf8))
                Foundation.exit(64)
            }
        }
        do {
            var command = try parseAsRoot(args)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
