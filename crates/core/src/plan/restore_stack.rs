//! The plan action `restore-servicing-stack-from-ssu`: restore the servicing
//! stack folders of WinSxS from a servicing stack update, following
//! Microsoft's article where it is right and correcting it where it would
//! damage the store (see the comments in the script).

use super::literal::lit;
use super::literal::write_list;
use super::ssu::{msu_default, ssu_fit, MsuDefault, Verdict};
use super::{Ctx, PlanError};
use std::fmt::Write as _;

/// Steps up to the preview: the registered stack, the package and its fit,
/// extraction, the choice of folders, the robocopy preview.
pub(super) fn preview(s: &mut String, ctx: &mut Ctx<'_>) -> Result<(), PlanError> {
    let (report, opts) = (ctx.report, ctx.opts);
    let os = [
        report.system.get("os_product").cloned(),
        report.system.get("os_display_version").cloned(),
        report.system.get("os_build").map(|b| format!("build {b}")),
        match report.system.contains_key("os_build") {
            true => None,
            false => report.system.get("os_version_in_logs").map(|v| format!("Windows {v}")),
        },
        report.system.get("arch").cloned(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let need = if os.is_empty() {
        "the latest servicing stack update (SSU) for this Windows version".to_string()
    } else {
        format!("the latest servicing stack update (SSU) for {os}")
    };
    let _ = writeln!(s);
    let _ = writeln!(s, "Write-Step '{}: the servicing stack version registered on this computer'", ctx.next_step());
    let _ = writeln!(s, "# The 64-bit registry, also from a 32-bit PowerShell on 64-bit Windows.");
    let _ = writeln!(s, "$View = @(); if ([Environment]::Is64BitOperatingSystem) {{ $View = @('/reg:64') }}");
    let _ = writeln!(
        s,
        "& reg.exe query 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Version' @View"
    );
    let _ = writeln!(s, "if ($LASTEXITCODE -ne 0) {{ Write-Warning 'The Component Based Servicing\\Version key could not be read; continuing.' }}");
    let _ = writeln!(s);
    let _ = writeln!(s, "Write-Step '{}: the servicing stack update to restore from'", ctx.next_step());
    let _ = writeln!(s, "$Needed = {}", lit(&need, "system")?);
    let _ = writeln!(s, "Write-Host ('Needed: ' + $Needed)");
    let fit = opts.ssu.as_ref().map(|p| ssu_fit(report, p));
    match opts.ssu.as_ref().zip(fit.as_ref()) {
        Some((p, fit)) => {
            if let MsuDefault::BesideScript(name) = msu_default(&p.path)? {
                let _ = writeln!(
                    s,
                    "if (-not $PSBoundParameters.ContainsKey('Msu')) {{ $Msu = Join-Path $PSScriptRoot {name} }}"
                );
            }
            let _ = writeln!(s, "Write-Host ('Package: ' + $Msu)");
            let _ = writeln!(s, "$Fit = {}", lit(fit.verdict.as_str(), "--ssu")?);
            // The verdict is about the package servicing-doctor inspected,
            // not about another one passed with -Msu.
            let _ = writeln!(s, "if ($PSBoundParameters.ContainsKey('Msu')) {{");
            let _ = writeln!(s, "    Write-Host 'This package was not inspected by servicing-doctor: check that it is the servicing stack update for this build and architecture.'");
            let _ = writeln!(s, "}} else {{");
            let _ = writeln!(
                s,
                "    Write-Host {}",
                lit(&format!("servicing-doctor inspected it: it {}.", fit.sentence()), "--ssu")?
            );
            for r in &fit.reasons {
                let _ = writeln!(s, "    Write-Host ('  ' + {})", lit(r, "--ssu")?);
            }
            if fit.verdict == Verdict::DoesNotFit {
                let _ = writeln!(s, "    Stop-Plan 'The package does not fit this computer: download the matching SSU and pass it with -Msu.'");
            }
            let _ = writeln!(s, "}}");
        }
        None => {
            let _ = writeln!(
                s,
                "# No --ssu package was inspected: check by hand that the .msu matches the OS build and architecture."
            );
        }
    }
    let _ = writeln!(
        s,
        "if (-not $Msu) {{ Stop-Plan ('Download ' + $Needed + ' and run again with -Msu <path to the .msu>.') }}"
    );
    let _ =
        writeln!(s, "if (-not (Test-Path -LiteralPath $Msu -PathType Leaf)) {{ Stop-Plan ('Not found: ' + $Msu) }}");
    let _ = writeln!(s);
    // The stack version and folders servicing-doctor saw in the inspected
    // package: the script checks that the package it extracts is that one.
    let machine_arch = report.system.get("arch").map(String::as_str);
    let selection = fit.as_ref().and_then(|f| f.selection.clone().ok().flatten());
    let _ = writeln!(s, "# The servicing stack folders of the inspected package (empty: not inspected).");
    match &selection {
        Some(sel) => {
            let _ = writeln!(s, "$StackVersion = {}", lit(&sel.version, "--ssu")?);
            let items = sel.copy.iter().map(|f| lit(f, "--ssu")).collect::<Result<Vec<_>, _>>()?;
            write_list(s, "$Expected", &items);
        }
        None => {
            let _ = writeln!(s, "$StackVersion = ''");
            let _ = writeln!(s, "$Expected = @()");
        }
    }
    let arch = machine_arch.filter(|a| a.bytes().all(|b| b.is_ascii_alphanumeric()) && !a.is_empty());
    let _ = writeln!(s, "$Arch = {}", lit(arch.unwrap_or(""), "system arch")?);
    ctx.emit(s, SSU_EXTRACT_AND_SELECT);
    Ok(())
}

/// Copy the chosen folders and give them back to TrustedInstaller.
pub(super) fn apply(s: &mut String, ctx: &mut Ctx<'_>) {
    ctx.emit(s, SSU_COPY);
}

/// Every stack folder, and the restored ones' owner and permissions.
pub(super) fn verify(s: &mut String, ctx: &mut Ctx<'_>) {
    ctx.emit(s, SSU_VERIFY);
}

/// Extract, choose the stack folders, preview. Static text: nothing from input is in it.
const SSU_EXTRACT_AND_SELECT: &str = r#"$Here = if ($env:PROCESSOR_ARCHITEW6432) { $env:PROCESSOR_ARCHITEW6432 } else { $env:PROCESSOR_ARCHITECTURE }
$Here = ([string]$Here).ToLowerInvariant()
if (-not $Arch) { $Arch = $Here }
elseif ($Arch -ne $Here) { Stop-Plan ('This plan was written for an ' + $Arch + ' computer; this one is ' + $Here + '.') }
if ($PSBoundParameters.ContainsKey('Msu')) { $StackVersion = ''; $Expected = @() }

Write-Step '@STEP@: extract the update into a new folder'
$Run = Join-Path $WorkDir ('ssu-' + (Get-Date -Format 'yyyyMMdd-HHmmss'))
New-Item -ItemType Directory -Force -Path $Run | Out-Null
New-Item -ItemType Directory -Force -Path (Split-Path -Parent $LogFile) | Out-Null
& expand.exe -F:* $Msu $Run
if ($LASTEXITCODE -ne 0) { Stop-Plan ('expand failed on ' + $Msu) }
# A .msu holds cabinets. WSUSSCAN.cab is metadata. A combined package holds the SSU
# as SSU-<build>-<arch>.cab beside the cumulative update's cabinet, which is not extracted.
$Skipped = @()
$Cabs = @(Get-ChildItem -LiteralPath $Run -Filter '*.cab' -File | Where-Object { $_.Name -ne 'WSUSSCAN.cab' })
$SsuCabs = @($Cabs | Where-Object { $_.Name -like 'SSU-*' } | ForEach-Object { $_.Name })
if ($SsuCabs.Count -gt 0) {
    foreach ($Cab in $Cabs) {
        if ($SsuCabs -notcontains $Cab.Name) { $Skipped += ($Cab.Name + ': not the servicing stack cabinet (not extracted)') }
    }
    $Cabs = @($Cabs | Where-Object { $SsuCabs -contains $_.Name })
}
$Src = Join-Path $Run 'expanded'
foreach ($Cab in $Cabs) {
    $Out = Join-Path $Src $Cab.BaseName
    New-Item -ItemType Directory -Force -Path $Out | Out-Null
    & expand.exe -F:* $Cab.FullName $Out
    if ($LASTEXITCODE -ne 0) { Stop-Plan ('expand failed on ' + $Cab.FullName) }
}
# A package given as a bare .cab has its component folders at the top.
$Roots = if ($Cabs.Count -gt 0) { @(Get-ChildItem -LiteralPath $Src -Directory -Force) } else { @(Get-Item -LiteralPath $Run) }
$All = @($Roots | ForEach-Object { Get-ChildItem -LiteralPath $_.FullName -Directory -Force })
if ($All.Count -eq 0) { Stop-Plan ('No component folders were extracted from ' + $Msu) }

Write-Step '@STEP@: choose the servicing stack folders'
# <arch>_microsoft-windows-servicingstack[-<part>]_31bf3856ad364e35_<version>_<culture>_<hash>
$Pattern = '^(?<arch>[a-z0-9]+)_microsoft-windows-servicingstack(-[a-z0-9.-]+)?_31bf3856ad364e35_(?<version>[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)_[a-z0-9-]+_[0-9a-f]{16}$'
function Split-StackName([string]$Name) {
    if ($Name -match $Pattern) {
        $Parts = @{ Arch = $Matches['arch'].ToLowerInvariant(); Version = $Matches['version'] }
        $Parts.Main = $Name -like '*_microsoft-windows-servicingstack_31bf3856ad364e35_*'
        return $Parts
    }
    return $null
}
if (-not $StackVersion) {
    # Not inspected: the version of the package's main stack folder for this computer.
    $Versions = @($All | ForEach-Object { Split-StackName $_.Name } | Where-Object { $_ -and $_.Main -and $_.Arch -eq $Arch } | ForEach-Object { $_.Version } | Sort-Object -Unique)
    if ($Versions.Count -eq 0) { Stop-Plan ('The package holds no servicing stack folder for ' + $Arch + ': it is not the servicing stack update for this computer.') }
    if ($Versions.Count -gt 1) { Stop-Plan ('The package holds servicing stacks ' + ($Versions -join ', ') + ' for ' + $Arch + ': run servicing-doctor plan --ssu on it and review that plan.') }
    $StackVersion = $Versions[0]
}
$Copy = @()
$NotStack = @()
$HasMain = $false
foreach ($F in $All) {
    $P = Split-StackName $F.Name
    if (-not $P) { $NotStack += $F.Name }
    elseif ($P.Version -ne $StackVersion) { $Skipped += ($F.Name + ': servicing stack ' + $P.Version + ', not the package''s ' + $StackVersion) }
    else {
        $Copy += $F
        if ($P.Main -and $P.Arch -eq $Arch) { $HasMain = $true }
    }
}
if ($NotStack.Count -gt 0) {
    Write-Host ('Skipped ' + $NotStack.Count + ' folder(s) that are not the servicing stack (in a combined package, the cumulative update''s components), for example:')
    $NotStack | Select-Object -First 10 | ForEach-Object { Write-Host ('  ' + $_) }
}
foreach ($Line in $Skipped) { Write-Host ('Skipped ' + $Line) }
if (-not $HasMain) { Stop-Plan ('The package holds no servicing stack ' + $StackVersion + ' folder for ' + $Arch + ': it is not the servicing stack update for this computer.') }
if ($Expected.Count -gt 0) {
    $Got = (@($Copy | ForEach-Object { $_.Name } | Sort-Object) -join '|')
    $Want = (@($Expected | Sort-Object) -join '|')
    if ($Got -ne $Want) { Stop-Plan 'These are not the servicing stack folders servicing-doctor found in the package it inspected: run servicing-doctor plan --ssu on this package and review that plan.' }
}
Write-Host ('Servicing stack ' + $StackVersion + ' for ' + $Arch + ': ' + $Copy.Count + ' folder(s) to restore:')
foreach ($F in $Copy) { Write-Host ('  ' + $F.Name) }

# Each chosen folder goes into the WinSxS folder of the same name. (The article's
# 'robocopy <folder> C:\Windows\WinSxS' would copy the folder's files loose into WinSxS.)
$Dst = Join-Path $env:SystemRoot 'WinSxS'
Write-Step '@STEP@: preview the copy (robocopy /L lists, changes nothing)'
Write-Host 'robocopy marks each file: New File is added; Newer, Older or Changed replaces the file in WinSxS. Identical files are neither listed nor copied.'
foreach ($F in $Copy) {
    $To = Join-Path $Dst $F.Name
    $Count = @(Get-ChildItem -LiteralPath $F.FullName -Recurse -Force -File).Count
    $State = if (Test-Path -LiteralPath $To) { 'exists: its files are replaced or added' } else { 'missing: created' }
    Write-Host ''
    Write-Host ($F.Name + ' (' + $Count + ' file(s)) -> ' + $To + ' (' + $State + ')')
    & robocopy.exe $F.FullName $To /E /COPY:DAT /DCOPY:T /B /R:0 /W:0 /L /NP /NJH /NJS
    if ($LASTEXITCODE -ge 8) { Stop-Plan ('robocopy preview failed for ' + $F.Name + ' (exit ' + $LASTEXITCODE + ')') }
}
"#;

/// Copy and owner, with the reason for the flags.
const SSU_COPY: &str = r#"
# Permissions. Microsoft's article says not to take ownership of WinSxS or its folders
# and not to change their permissions, and copies with robocopy /COPYALL /B. /COPYALL
# (= /COPY:DATSOU) also writes the owner and access list of the extracted files, which
# come from this work folder (owner: Administrators), onto WinSxS. Windows gives WinSxS
# the owner NT SERVICE\TrustedInstaller and an access list that every folder and file
# below it inherits (TrustedInstaller: full control; Administrators, SYSTEM and Users:
# read and execute). So this plan copies data, attributes and time stamps only
# (/COPY:DAT /DCOPY:T): what it creates inherits WinSxS's own permissions. /B (backup
# mode) lets robocopy write where Administrators may only read. Created items are owned
# by Administrators, so icacls /setowner gives the restored folders, and nothing else,
# back to TrustedInstaller. Step 8 compares their owner and permissions with an intact
# folder. The same by hand: $RemediationSteps at the top of this script.
Write-Step '@STEP@: copy the servicing stack folders (logged) and give them back to TrustedInstaller'
foreach ($F in $Copy) {
    $To = Join-Path $Dst $F.Name
    & robocopy.exe $F.FullName $To /E /COPY:DAT /DCOPY:T /B /R:0 /W:0 ('/LOG+:' + $LogFile)
    if ($LASTEXITCODE -ge 8) { Stop-Plan ('robocopy failed for ' + $F.Name + ' (exit ' + $LASTEXITCODE + '); see ' + $LogFile) }
    & icacls.exe $To /setowner 'NT SERVICE\TrustedInstaller' /T /C /Q
    if ($LASTEXITCODE -ne 0) { Stop-Plan ('icacls could not give ' + $To + ' back to TrustedInstaller (exit ' + $LASTEXITCODE + ')') }
}

"#;

/// Verify: presence, cbscore.dll, registered versions, owner and ACL.
const SSU_VERIFY: &str = r#"Write-Step '@STEP@: verify every servicing stack folder, and the owner and permissions of the restored ones'
$Problems = @()
$Stack = @(Get-ChildItem -LiteralPath $Dst -Directory -Force -Filter '*_microsoft-windows-servicingstack*')
if ($Stack.Count -eq 0) { $Problems += 'no servicing stack folder in WinSxS' }
foreach ($D in $Stack) {
    if (-not (Get-ChildItem -LiteralPath $D.FullName -Force | Select-Object -First 1)) { $Problems += ($D.Name + ' is empty') }
    elseif ($D.Name -like '*_microsoft-windows-servicingstack_*' -and -not (Test-Path -LiteralPath (Join-Path $D.FullName 'cbscore.dll'))) { $Problems += ($D.Name + ' has no cbscore.dll') }
}
# The 64-bit view of the registry, also from a 32-bit PowerShell (on 32-bit Windows: the only view).
$Hklm = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
$Registered = $Hklm.OpenSubKey('SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\Version')
if ($Registered) {
    foreach ($Name in $Registered.GetValueNames()) {
        $Path = [Environment]::ExpandEnvironmentVariables([string]$Registered.GetValue($Name, '', [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames))
        if (-not (Test-Path -LiteralPath (Join-Path $Path 'cbscore.dll'))) { $Problems += ('registered version ' + $Name + ': no cbscore.dll in ' + $Path) }
    }
}
# An intact sibling: a component folder of this architecture that was not restored.
$Restored = @($Copy | ForEach-Object { $_.Name })
$Sibling = Get-ChildItem -LiteralPath $Dst -Directory -Force | Where-Object { $_.Name -like ($Arch + '_*_31bf3856ad364e35_*') -and $Restored -notcontains $_.Name } | Select-Object -First 1
if (-not $Sibling) { $Problems += 'no intact component folder in WinSxS to compare owner and permissions with' }
else {
    $Want = Get-Acl -LiteralPath $Sibling.FullName
    $WantAccess = $Want.GetSecurityDescriptorSddlForm('Access')
    foreach ($Name in $Restored) {
        $To = Join-Path $Dst $Name
        $Acl = Get-Acl -LiteralPath $To
        if ($Acl.Owner -ne $Want.Owner) { $Problems += ($Name + ': owner ' + $Acl.Owner + '; the intact ' + $Sibling.Name + ' has ' + $Want.Owner) }
        if ($Acl.GetSecurityDescriptorSddlForm('Access') -ne $WantAccess) { $Problems += ($Name + ': permissions differ from the intact ' + $Sibling.Name) }
        foreach ($File in @(Get-ChildItem -LiteralPath $To -Recurse -Force -File)) {
            $FileOwner = (Get-Acl -LiteralPath $File.FullName).Owner
            if ($FileOwner -ne $Want.Owner) { $Problems += ($File.FullName + ': owner ' + $FileOwner); break }
        }
    }
}
if ($Problems.Count -gt 0) { Stop-Plan ('still damaged: ' + ($Problems -join '; ')) }
Write-Host 'Every servicing stack folder is present and non-empty, the main ones hold cbscore.dll, and the restored ones have the owner and permissions of an intact WinSxS folder.'

"#;
