//! The vetted set of plan actions a remediation file may name. Each one is
//! written here, in Rust, with typed parameters: what it declares in the
//! script's `param()`, what it checks and shows in preview, what it changes
//! with `-Apply`, and how it verifies. Values from rule files and logs go
//! in only through [`lit`]; the PowerShell text of an action is static.

use super::literal::lit;
use super::ssu::{msu_default, MsuDefault};
use super::{restore_stack, Ctx, PlanError};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// A plan action, as a remediation file names it (`plan:` list).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Restore the servicing stack folders of WinSxS from a servicing stack
    /// update (`--ssu`, or `-Msu` when the script runs).
    RestoreServicingStackFromSsu,
    /// Copy the logs Microsoft Support asks for into the work folder.
    CollectSupportData,
    /// Say how to run an in-place upgrade (changes nothing).
    InPlaceUpgradeGuidance,
    /// `DISM /Online /Cleanup-Image /RestoreHealth`, with a repair source
    /// when one is given (`/Source:`), and `/LimitAccess` (no Windows Update)
    /// only with a source.
    DismRestoreHealth {
        /// Default for the script's `-Source` (e.g. `wim:D:\sources\install.wim:1`).
        #[serde(default)]
        source: Option<String>,
    },
    /// `sfc /scannow`.
    SfcScannow,
    /// Show the pending-restart signs, then restart (asking first).
    RebootAndRetry,
    /// Install the update a fact names (`KB1234567`) from a package the
    /// admin downloads from the Microsoft Update Catalog.
    InstallKb {
        /// The fact holding the KB.
        fact: String,
    },
    /// Stop unless the system drive has this many GB free.
    CheckFreeSpace { gigabytes: u32 },
}

/// A script parameter an action needs.
pub(super) struct Param {
    pub name: &'static str,
    pub comment: &'static str,
    pub decl: String,
}

impl Action {
    /// The name used in remediation files.
    pub fn name(&self) -> &'static str {
        match self {
            Action::RestoreServicingStackFromSsu => "restore-servicing-stack-from-ssu",
            Action::CollectSupportData => "collect-support-data",
            Action::InPlaceUpgradeGuidance => "in-place-upgrade-guidance",
            Action::DismRestoreHealth { .. } => "dism-restore-health",
            Action::SfcScannow => "sfc-scannow",
            Action::RebootAndRetry => "reboot-and-retry",
            Action::InstallKb { .. } => "install-kb",
            Action::CheckFreeSpace { .. } => "check-free-space",
        }
    }

    /// Whether `-Apply` makes this action change the system.
    pub fn changes(&self) -> bool {
        !matches!(self, Action::InPlaceUpgradeGuidance | Action::CheckFreeSpace { .. })
    }

    /// The facts of the finding this action reads (checked when rules load).
    pub fn facts(&self) -> Vec<&str> {
        match self {
            Action::InstallKb { fact } => vec![fact.as_str()],
            _ => Vec::new(),
        }
    }

    pub(super) fn params(&self, ctx: &Ctx<'_>) -> Result<Vec<Param>, PlanError> {
        let work = || Param {
            name: "WorkDir",
            comment: "Where the script extracts and collects files (never your evidence).",
            decl: "[string]$WorkDir = 'C:\\TemporaryFolder'".into(),
        };
        Ok(match self {
            Action::RestoreServicingStackFromSsu => {
                let default = match ctx.opts.ssu.as_ref().map(|p| msu_default(&p.path)).transpose()? {
                    Some(MsuDefault::Literal(l)) => l,
                    _ => "''".to_string(),
                };
                vec![
                    Param {
                        name: "Msu",
                        comment: "The servicing stack update (.msu) to restore from.",
                        decl: format!("[string]$Msu = {default}"),
                    },
                    work(),
                    Param {
                        name: "LogFile",
                        comment: "The copy log.",
                        decl: "[string]$LogFile = 'C:\\Repair\\WinSxS_Repair.log'".into(),
                    },
                ]
            }
            Action::CollectSupportData => vec![work()],
            Action::DismRestoreHealth { source } => {
                let origin = format!("dism-restore-health source of remediation {}", ctx.top.remediation.id);
                vec![
                    Param {
                        name: "Source",
                        comment: "Repair source for DISM (wim:<path>:<index>, esd:<path>:<index> or a folder); empty: Windows Update.",
                        decl: format!("[string]$Source = {}", lit(source.as_deref().unwrap_or(""), &origin)?),
                    },
                    Param {
                        name: "LimitAccess",
                        comment: "With a source: do not contact Windows Update.",
                        decl: "[switch]$LimitAccess".into(),
                    },
                ]
            }
            Action::InstallKb { .. } => vec![Param {
                name: "Package",
                comment: "The update package (.msu) downloaded from the Microsoft Update Catalog.",
                decl: "[string]$Package = ''".into(),
            }],
            _ => Vec::new(),
        })
    }

    pub(super) fn preview(&self, s: &mut String, ctx: &mut Ctx<'_>) -> Result<(), PlanError> {
        match self {
            Action::RestoreServicingStackFromSsu => restore_stack::preview(s, ctx)?,
            Action::CollectSupportData => ctx.emit(s, COLLECT_PREVIEW),
            Action::InPlaceUpgradeGuidance => ctx.emit(s, UPGRADE_GUIDANCE),
            Action::DismRestoreHealth { .. } => ctx.emit(s, DISM_PREVIEW),
            Action::SfcScannow => ctx.emit(s, SFC_PREVIEW),
            Action::RebootAndRetry => ctx.emit(s, REBOOT_PREVIEW),
            Action::InstallKb { fact } => {
                let kb = ctx.top.facts.get(fact).map(String::as_str).unwrap_or("");
                // Only a KB number goes in: anything else in the fact is not one.
                let kb = if is_kb(kb) { kb } else { "" };
                ctx.emit(s, "\nWrite-Step '@STEP@: the update to install'\n");
                let _ = writeln!(s, "$Kb = {}", lit(kb, &format!("fact {fact}"))?);
                ctx.emit(s, KB_PREVIEW);
            }
            Action::CheckFreeSpace { gigabytes } => {
                ctx.emit(s, "\nWrite-Step '@STEP@: free space on the system drive'\n");
                let _ = writeln!(s, "$NeedGB = {gigabytes}");
                ctx.emit(s, FREE_SPACE);
            }
        }
        Ok(())
    }

    pub(super) fn apply(&self, s: &mut String, ctx: &mut Ctx<'_>) {
        match self {
            Action::RestoreServicingStackFromSsu => restore_stack::apply(s, ctx),
            Action::CollectSupportData => ctx.emit(s, COLLECT_APPLY),
            Action::DismRestoreHealth { .. } => ctx.emit(s, DISM_APPLY),
            Action::SfcScannow => ctx.emit(s, SFC_APPLY),
            Action::RebootAndRetry => ctx.emit(s, REBOOT_APPLY),
            Action::InstallKb { .. } => ctx.emit(s, KB_APPLY),
            Action::InPlaceUpgradeGuidance | Action::CheckFreeSpace { .. } => {}
        }
    }

    pub(super) fn verify(&self, s: &mut String, ctx: &mut Ctx<'_>) {
        match self {
            Action::RestoreServicingStackFromSsu => restore_stack::verify(s, ctx),
            Action::DismRestoreHealth { .. } => ctx.emit(s, DISM_VERIFY),
            Action::InstallKb { .. } => ctx.emit(s, KB_VERIFY),
            _ => {}
        }
    }
}

/// `KB` and 4 to 8 digits.
fn is_kb(s: &str) -> bool {
    let digits = s.strip_prefix("KB").unwrap_or("");
    (4..=8).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

const COLLECT_PREVIEW: &str = r#"
Write-Step '@STEP@: the data Microsoft Support needs'
$Bundle = Join-Path $WorkDir 'support'
if ($Finding.ContainsKey('Subject')) {
    Write-Host ($Finding.SubjectLabel + ' (list it in the support request): ' + $(if ($Finding.Subject.Count -gt 0) { $Finding.Subject -join '; ' } else { 'not named in the logs' }))
}
$Collect = @(
    (Join-Path $env:SystemRoot 'Logs\CBS'),
    (Join-Path $env:SystemRoot 'INF\setupapi.dev.log'),
    (Join-Path $env:SystemRoot 'Logs\DISM\dism.log')
)
foreach ($P in $Collect) { Write-Host ('  will copy: ' + $P + ' -> ' + $Bundle) }
"#;

const COLLECT_APPLY: &str = r#"
Write-Step '@STEP@: collect the data Microsoft Support needs'
New-Item -ItemType Directory -Force -Path $Bundle | Out-Null
foreach ($P in $Collect) { if (Test-Path -LiteralPath $P) { Copy-Item -LiteralPath $P -Destination $Bundle -Recurse -Force } }
$Evidence | Set-Content -LiteralPath (Join-Path $Bundle 'servicing-doctor-evidence.txt') -Encoding UTF8
Write-Host ('Support data copied to ' + $Bundle + ' (the logs were only read).')
"#;

const UPGRADE_GUIDANCE: &str = r#"
Write-Step '@STEP@: in-place upgrade'
Write-Host 'On an Azure VM: back up the OS disk (Azure VM restore) and make sure the Azure Serial Console works, in case the VM cannot restart or be reached.'
Write-Host 'The most reliable fix is an in-place upgrade: run setup.exe from installation media of the same (or a newer) Windows version and edition, and keep apps and files.'
Write-Host 'For Azure VMs, follow "In-place upgrade for VMs running Windows Server in Azure" (or the Windows client article).'
Write-Host 'If the upgrade fails with 0x80070003 in "Process Drivers for Migration", run servicing-doctor on its logs: the servicing stack folders need restoring.'
"#;

const DISM_PREVIEW: &str = r#"
Write-Step '@STEP@: repair the component store with DISM (preview)'
$DismArgs = @('/Online', '/Cleanup-Image', '/RestoreHealth')
if ($Source) {
    # wim:<path>:<index> and esd:<path>:<index> name a file; anything else is a folder.
    $SourcePath = $Source
    if ($Source -match '^(?i)(wim|esd):(?<path>.+):[0-9]+$') { $SourcePath = $Matches['path'] }
    if (-not (Test-Path -LiteralPath $SourcePath)) { Stop-Plan ('The repair source is not there: ' + $SourcePath) }
    $DismArgs += ('/Source:' + $Source)
    if ($LimitAccess) { $DismArgs += '/LimitAccess' }
    Write-Host 'The source must be the same Windows build, edition and language as this computer.'
} elseif ($LimitAccess) {
    Stop-Plan '-LimitAccess without -Source leaves DISM no repair source: give -Source or drop -LimitAccess.'
} else {
    Write-Host 'No -Source: DISM repairs from Windows Update (or the source set by the "Specify settings for optional component installation and component repair" policy).'
}
Write-Host ('Will run: DISM.exe ' + ($DismArgs -join ' '))
"#;

const DISM_APPLY: &str = r#"
Write-Step '@STEP@: repair the component store with DISM'
& DISM.exe @DismArgs
if ($LASTEXITCODE -ne 0) { Stop-Plan ('DISM /RestoreHealth failed (exit ' + $LASTEXITCODE + '); see C:\Windows\Logs\DISM\dism.log and C:\Windows\Logs\CBS\CBS.log') }
"#;

const DISM_VERIFY: &str = r#"
Write-Step '@STEP@: verify the component store'
& DISM.exe /Online /Cleanup-Image /CheckHealth
if ($LASTEXITCODE -ne 0) { Stop-Plan ('DISM /CheckHealth still reports a problem (exit ' + $LASTEXITCODE + ')') }
"#;

const SFC_PREVIEW: &str = r#"
Write-Step '@STEP@: system file check (preview)'
Write-Host 'Will run: sfc.exe /scannow (it repairs protected system files from the component store; its log is C:\Windows\Logs\CBS\CBS.log).'
"#;

const SFC_APPLY: &str = r#"
Write-Step '@STEP@: system file check'
& sfc.exe /scannow
if ($LASTEXITCODE -ne 0) { Stop-Plan ('sfc /scannow did not finish cleanly (exit ' + $LASTEXITCODE + '); see C:\Windows\Logs\CBS\CBS.log') }
"#;

const REBOOT_PREVIEW: &str = r#"
Write-Step '@STEP@: pending restart'
$Pending = @()
if (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending') { $Pending += 'Component Based Servicing\RebootPending' }
if (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired') { $Pending += 'WindowsUpdate\Auto Update\RebootRequired' }
$Rename = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -Name 'PendingFileRenameOperations' -ErrorAction SilentlyContinue
if ($Rename) { $Pending += 'Session Manager\PendingFileRenameOperations' }
if ($Pending.Count -gt 0) { Write-Host ('A restart is pending: ' + ($Pending -join ', ')) } else { Write-Host 'No pending restart is recorded.' }
Write-Host 'With -Apply the computer restarts (you are asked first); then run the update again.'
"#;

const REBOOT_APPLY: &str = r#"
Write-Step '@STEP@: restart'
Restart-Computer -Confirm
"#;

const KB_PREVIEW: &str = r#"if (-not $Kb) { Stop-Plan 'The logs name no KB to install.' }
Write-Host ('Update: ' + $Kb + '. Download it for this Windows version and architecture from https://www.catalog.update.microsoft.com/Search.aspx?q=' + $Kb)
if (Get-HotFix -Id $Kb -ErrorAction SilentlyContinue) { Write-Host ($Kb + ' is already installed.') }
if (-not $Package) { Write-Host 'Then run this script again with -Package <path to the .msu> -Apply.' }
elseif (-not (Test-Path -LiteralPath $Package -PathType Leaf)) { Stop-Plan ('Not found: ' + $Package) }
"#;

const KB_APPLY: &str = r#"
Write-Step '@STEP@: install the update'
if (-not $Package) { Stop-Plan ('Give the downloaded package: -Package <path to the ' + $Kb + ' .msu>') }
& wusa.exe $Package /quiet /norestart
# 3010: installed, restart needed; 2359302 (0x240006): already installed.
if (@(0, 3010, 2359302) -notcontains $LASTEXITCODE) { Stop-Plan ('wusa failed (exit ' + $LASTEXITCODE + '); see the Setup event log') }
if ($LASTEXITCODE -eq 3010) { Write-Host 'Installed; restart the computer to finish.' }
"#;

const KB_VERIFY: &str = r#"
Write-Step '@STEP@: verify the update'
if (-not (Get-HotFix -Id $Kb -ErrorAction SilentlyContinue)) { Write-Warning ($Kb + ' is not listed as installed yet (it may need the restart).') }
"#;

const FREE_SPACE: &str = r#"$Drive = Get-PSDrive -Name ($env:SystemDrive.TrimEnd(':'))
$FreeGB = [math]::Floor($Drive.Free / 1073741824)
Write-Host ($env:SystemDrive + ' has ' + $FreeGB + ' GB free; ' + $NeedGB + ' GB are needed.')
if ($FreeGB -lt $NeedGB) { Stop-Plan ('Free at least ' + $NeedGB + ' GB on ' + $env:SystemDrive + ' first (Disk Cleanup, including "Clean up system files").') }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kb_numbers_only() {
        assert!(is_kb("KB5034441"));
        assert!(!is_kb("KB12") && !is_kb("5034441") && !is_kb("KB5034441'; calc") && !is_kb(""));
    }

    #[test]
    fn actions_read_from_yaml_by_name() {
        let list: Vec<Action> = serde_saphyr::from_str(
            "- sfc-scannow\n- dism-restore-health: { source: 'wim:D:\\sources\\install.wim:1' }\n- check-free-space: { gigabytes: 20 }\n",
        )
        .unwrap();
        assert_eq!(list[0], Action::SfcScannow);
        assert_eq!(list[1], Action::DismRestoreHealth { source: Some("wim:D:\\sources\\install.wim:1".into()) });
        assert_eq!(list[2].name(), "check-free-space");
        assert!(serde_saphyr::from_str::<Vec<Action>>("- format-c-drive\n").is_err());
    }
}
