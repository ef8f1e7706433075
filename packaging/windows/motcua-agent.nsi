; The Windows installer of motcua-agent (NSIS 3). Build it with `make dist` or
; packaging/windows/build-installer.sh EXE VERSION OUTDIR.
;
;   motcua-agent-setup.exe                       pages in Vietnamese
;   motcua-agent-setup.exe /S /CONFIG=site.yaml  silent, for deployment tools
;   uninstall.exe [/S] [/PURGE]                  /PURGE also deletes config and record
;
; Exit codes: 0 done; 1 not a 64-bit Windows; 2 the /CONFIG file is missing or fails
; `config check` (nothing was changed); 3 installed but the service did not start;
; 4 the service could not be registered.
; Program files go to %ProgramFiles%\motcua-agent, config and record to
; %ProgramData%\motcua-agent (readable by SYSTEM and Administrators only).
; Code signing: a province signs motcua-agent.exe before this script packs it and
; the finished motcua-agent-setup.exe after (signtool or osslsigncode).

Unicode true
Target amd64-unicode
ManifestDPIAware true
RequestExecutionLevel admin
; Releases use solid LZMA; the tests build with zlib (-DCOMPRESSOR=zlib), 10x faster.
!ifndef COMPRESSOR
  !define COMPRESSOR "/SOLID lzma"
!endif
SetCompressor ${COMPRESSOR}

!ifndef AGENT_EXE
  !error "define AGENT_EXE: the built motcua-agent.exe"
!endif
!ifndef GUIDE
  !error "define GUIDE: the Vietnamese installation guide"
!endif
!ifndef EXAMPLE
  !error "define EXAMPLE: the counter example config in its Windows form"
!endif
!ifndef VERSION
  !define VERSION dev
!endif
!ifndef OUTFILE
  !define OUTFILE motcua-agent-setup.exe
!endif

!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\motcua-agent"
; SYSTEM (SY) and Administrators (BA) full control, inherited by everything below,
; nothing inherited from ProgramData (P): the record and the ID-hash secret are not
; readable by ordinary users.
!define DATA_SDDL "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

Name "motcua-agent ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\motcua-agent"
BrandingText "motcua-agent ${VERSION}"

!include MUI2.nsh
!include FileFunc.nsh
!include LogicLib.nsh
!include x64.nsh

!define MUI_FINISHPAGE_SHOWREADME "$INSTDIR\HUONG-DAN-CAI-DAT.txt"
!define MUI_FINISHPAGE_SHOWREADME_TEXT "Mở hướng dẫn cài đặt và sử dụng"
!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "Vietnamese"

Var DataDir
Var Config ; the /CONFIG= file, "" when none
Var Log    ; install.log, in English like every log

!macro LogLine text
  FileWrite $Log "${text}$\r$\n"
!macroend

; Run a command (the text in $8), log it with its exit code and output; leaves the
; exit code in $0 and the output in $1.
Function RunLogged
  nsExec::ExecToStack $8
  Pop $0
  Pop $1
  FileWrite $Log "run: $8$\r$\n  exit $0: $1$\r$\n"
FunctionEnd

!macro Run cmd
  StrCpy $8 `${cmd}`
  Call RunLogged
!macroend

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "motcua-agent cần Windows 10/11 bản 64-bit." /SD IDOK
    SetErrorLevel 1
    Quit
  ${EndIf}
  SetRegView 64
  SetShellVarContext all
  StrCpy $DataDir "$APPDATA\motcua-agent"
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/CONFIG=" $Config
  ${If} ${Errors}
    StrCpy $Config ""
  ${EndIf}
  ${If} $Config != ""
    GetFullPathName $Config $Config
    ${IfNot} ${FileExists} $Config
      MessageBox MB_ICONSTOP "Không tìm thấy tệp cấu hình: $Config" /SD IDOK
      SetErrorLevel 2
      Quit
    ${EndIf}
    ; Check the site's config with the very binary being installed, before anything
    ; on the PC is changed.
    InitPluginsDir
    File "/oname=$PLUGINSDIR\motcua-agent.exe" "${AGENT_EXE}"
    nsExec::ExecToStack '"$PLUGINSDIR\motcua-agent.exe" config check "$Config"'
    Pop $0
    Pop $1
    ${If} $0 != 0
      MessageBox MB_ICONSTOP "Tệp cấu hình $Config có lỗi, chưa cài đặt gì:$\r$\n$\r$\n$1" /SD IDOK
      SetErrorLevel 2
      Quit
    ${EndIf}
  ${EndIf}
FunctionEnd

Section "motcua-agent" SecMain
  SetRegView 64
  SetShellVarContext all
  CreateDirectory "$INSTDIR"
  FileOpen $Log "$INSTDIR\install.log" a
  !insertmacro LogLine "motcua-agent ${VERSION} setup"

  ; An upgrade: stop and unregister the old service before its binary is replaced.
  ${If} ${FileExists} "$INSTDIR\motcua-agent.exe"
    !insertmacro Run '"$INSTDIR\motcua-agent.exe" service stop'
    !insertmacro Run '"$INSTDIR\motcua-agent.exe" service uninstall'
  ${EndIf}

  SetOutPath "$INSTDIR"
  File "/oname=motcua-agent.exe" "${AGENT_EXE}"
  File "/oname=HUONG-DAN-CAI-DAT.txt" "${GUIDE}"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  ; The data folder gets its restricted DACL while still empty, so everything the
  ; agent creates in it inherits it.
  ${IfNot} ${FileExists} "$DataDir\*.*"
    CreateDirectory "$DataDir"
  ${EndIf}
  System::Call 'advapi32::ConvertStringSecurityDescriptorToSecurityDescriptorW(w "${DATA_SDDL}", i 1, *p .r2, p 0) i .r0'
  System::Call 'advapi32::GetSecurityDescriptorDacl(p r2, *i .r3, *p .r4, *i .r5) i .r1'
  ; SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION
  System::Call 'advapi32::SetNamedSecurityInfoW(w "$DataDir", i 1, i 0x80000004, p 0, p 0, p r4, p 0) i .r6'
  System::Call 'kernel32::LocalFree(p r2)'
  !insertmacro LogLine "data folder $DataDir: DACL ${DATA_SDDL}: parse $0, set $6 (0 is success)"

  StrCpy $7 "start"
  ${If} $Config != ""
    CopyFiles /SILENT "$Config" "$DataDir\site.yaml"
    !insertmacro LogLine "config: copied from $Config"
  ${ElseIfNot} ${FileExists} "$DataDir\site.yaml"
    ; No site config yet: an example the technician edits, and no start until then.
    SetOutPath "$DataDir"
    File "/oname=site.yaml" "${EXAMPLE}"
    SetOutPath "$INSTDIR"
    !insertmacro LogLine "config: wrote the counter example; the service starts once it is edited"
    StrCpy $7 "edit"
    MessageBox MB_ICONINFORMATION "Đã tạo tệp cấu hình mẫu $DataDir\site.yaml.$\r$\nSửa mã tỉnh, mã xã, tên điểm và máy in trong tệp, rồi chạy:$\r$\n  motcua-agent service start" /SD IDOK
  ${Else}
    !insertmacro LogLine "config: keeping $DataDir\site.yaml"
  ${EndIf}

  !insertmacro Run '"$INSTDIR\motcua-agent.exe" service install --config "$DataDir\site.yaml"'
  ${If} $0 != 0
    MessageBox MB_ICONSTOP "Không đăng ký được dịch vụ motcua-agent:$\r$\n$1" /SD IDOK
    SetErrorLevel 4
  ${Else}
    ; Restart 3 s after each failure; the failure count resets after a day.
    !insertmacro Run '"$SYSDIR\sc.exe" failure motcua-agent reset= 86400 actions= restart/3000/restart/3000/restart/3000'
    ${If} $7 == "start"
      !insertmacro Run '"$INSTDIR\motcua-agent.exe" service start'
      ${If} $0 != 0
        MessageBox MB_ICONEXCLAMATION "Đã cài đặt nhưng dịch vụ motcua-agent chưa chạy:$\r$\n$1$\r$\nXem hướng dẫn, mục Xử lý sự cố." /SD IDOK
        SetErrorLevel 3
      ${EndIf}
    ${EndIf}
  ${EndIf}

  WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "motcua-agent (Một cửa)"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "motcua-agent"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\motcua-agent.exe"
  WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKLM "${UNINST_KEY}" "EstimatedSize" $0
  !insertmacro LogLine "done"
  FileClose $Log
SectionEnd

Section "Uninstall"
  SetRegView 64
  SetShellVarContext all
  nsExec::Exec '"$INSTDIR\motcua-agent.exe" service stop'
  Pop $0
  nsExec::Exec '"$INSTDIR\motcua-agent.exe" service uninstall'
  Pop $0
  Delete "$INSTDIR\motcua-agent.exe"
  Delete "$INSTDIR\HUONG-DAN-CAI-DAT.txt"
  Delete "$INSTDIR\install.log"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKLM "${UNINST_KEY}"

  ; The config and the record stay unless asked: /PURGE, or Yes to the question.
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/PURGE" $1
  ${IfNot} ${Errors}
    RMDir /r "$APPDATA\motcua-agent"
  ${ElseIfNot} ${Silent}
    MessageBox MB_YESNO|MB_DEFBUTTON2|MB_ICONQUESTION "Xóa cả cấu hình và dữ liệu trong $APPDATA\motcua-agent?$\r$\n(Chọn Không để giữ lại khi cài đặt lại.)" IDNO keep
    RMDir /r "$APPDATA\motcua-agent"
    keep:
  ${EndIf}
SectionEnd
